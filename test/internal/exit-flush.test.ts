import { describe, expect, it } from 'vitest';
import { bounded } from '../../src/internal/exit-flush.js';

describe('bounded', () => {
  it('done when the work finishes', async () => {
    let ran = false;
    expect(
      await bounded(async () => {
        ran = true;
      }, 1000),
    ).toBe('done');
    expect(ran).toBe(true);
  });

  it('failed (not thrown) when the work rejects or throws', async () => {
    expect(await bounded(() => Promise.reject(new Error('boom')), 1000)).toBe('failed');
    expect(
      await bounded(() => {
        throw new Error('sync boom');
      }, 1000),
    ).toBe('failed');
  });

  it('timeout when the work never settles', async () => {
    expect(await bounded(() => new Promise<void>(() => {}), 20)).toBe('timeout');
  });
});
