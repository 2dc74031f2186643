import { describe, expect, it } from 'vitest';
import { countIn, firstIn, hasIn, keyList, scanAttributes, textIn } from '../../src/genai/attribute-scan.js';
import { toText } from '../../src/span/attributes.js';

const MODEL = keyList(['test.scan.response_model', 'test.scan.request_model']);
const INPUT = keyList(['test.scan.input', 'test.scan.prompt']);
const WIDE = keyList(Array.from({ length: 32 }, (_, i) => `test.scan.k${i}`));

describe('attribute scans', () => {
  it('reads the first present key of a list, in the list order', () => {
    const s = scanAttributes({ 'test.scan.request_model': 'b', 'test.scan.response_model': 'a' });
    expect(textIn(s, MODEL)).toBe('a');
    expect(hasIn(s, INPUT)).toBe(false);
    expect(countIn(s, INPUT)).toBeUndefined();
  });

  it('a scan read after a later scan still answers for its own span', () => {
    const first = scanAttributes({ 'test.scan.request_model': 'first', 'test.scan.input': 7 });
    const second = scanAttributes({ 'test.scan.response_model': 'second' });
    expect(textIn(first, MODEL)).toBe('first');
    expect(countIn(first, INPUT)).toBe(7);
    expect(textIn(second, MODEL)).toBe('second');
    expect(hasIn(second, INPUT)).toBe(false);
  });

  it('keeps the 32nd key of a list (the sign bit of a mask)', () => {
    const s = scanAttributes({ 'test.scan.k31': 'last', 'test.scan.k30': undefined });
    expect(firstIn(s, WIDE, toText)).toBe('last');
  });
});
