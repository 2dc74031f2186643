import { describe, expect, it } from 'vitest';
import { pairKey } from '../../src/internal/pair-key.js';

describe('pairKey', () => {
  it('joins the pair with a slash, the same string for the same pair', () => {
    expect(pairKey('openai', 'gpt-4o')).toBe('openai/gpt-4o');
    expect(pairKey('openai', 'gpt-4o')).toBe(pairKey('openai', 'gpt-4o'));
    expect(pairKey('openai/x', 'y')).toBe('openai/x/y');
  });

  it('stays right past its bounds (ids come from spans)', () => {
    for (let p = 0; p < 200; p++)
      for (let m = 0; m < 300; m++) expect(pairKey(`p${p}`, `m${m}`)).toBe(`p${p}/m${m}`);
    expect(pairKey('p0', 'm0')).toBe('p0/m0');
  });
});
