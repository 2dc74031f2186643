import { describe, expect, it } from 'vitest';
import { BoundedMap } from '../../src/internal/bounded-map.js';

const keys = <K, V>(m: BoundedMap<K, V>, candidates: K[]): K[] => candidates.filter((k) => m.has(k));

describe('BoundedMap', () => {
  it('keeps the capacity most recently inserted keys', () => {
    const m = new BoundedMap<string, number>(3);
    for (const [i, k] of ['a', 'b', 'c', 'd', 'e'].entries()) m.set(k, i);
    expect(m.size).toBe(3);
    expect(keys(m, ['a', 'b', 'c', 'd', 'e'])).toEqual(['c', 'd', 'e']);
    expect(m.get('e')).toBe(4);
    expect(m.get('a')).toBeUndefined();
  });

  it('setting a key again replaces its value without refreshing its age', () => {
    const m = new BoundedMap<string, number>(2);
    m.set('a', 1);
    m.set('b', 2);
    m.set('a', 3);
    expect(m.size).toBe(2);
    expect(m.get('a')).toBe(3);
    m.set('c', 4); // 'a' is still the oldest
    expect(keys(m, ['a', 'b', 'c'])).toEqual(['b', 'c']);
  });

  it('a deleted key frees its place in the map; its ring slot is reused in turn', () => {
    const m = new BoundedMap<string, number>(2);
    m.set('a', 1);
    m.set('b', 2);
    m.delete('a');
    expect(m.size).toBe(1);
    m.set('c', 3); // takes a's ring slot
    expect(keys(m, ['a', 'b', 'c'])).toEqual(['b', 'c']);
    m.set('d', 4); // evicts b
    expect(keys(m, ['b', 'c', 'd'])).toEqual(['c', 'd']);
  });

  it('a key deleted and set again when its own old ring slot comes round is kept', () => {
    const m = new BoundedMap<string, number>(2);
    m.set('a', 1); // slot 0
    m.set('b', 2); // slot 1
    m.delete('a');
    m.set('a', 3); // slot 0 still names 'a': it must not evict the 'a' just set
    expect(m.get('a')).toBe(3);
    expect(keys(m, ['a', 'b'])).toEqual(['a', 'b']);
  });

  it('a key deleted and set again may be forgotten early when its stale slot comes round (documented)', () => {
    const m = new BoundedMap<string, number>(2);
    m.set('a', 1); // slot 0
    m.set('b', 2); // slot 1
    m.delete('a');
    m.delete('b');
    m.set('b', 3); // slot 0
    m.set('a', 4); // slot 1 still names 'b': b goes, a little early
    expect(keys(m, ['a', 'b'])).toEqual(['a']);
    expect(m.size).toBe(1);
  });

  it('never holds more than its capacity (capacity 1, and a fractional or zero capacity)', () => {
    for (const capacity of [1, 0, 0.5]) {
      const m = new BoundedMap<number, number>(capacity);
      for (let i = 0; i < 10; i++) {
        m.set(i, i);
        expect(m.size).toBe(1);
        expect(m.get(i)).toBe(i);
      }
    }
    const big = new BoundedMap<number, number>(1000);
    for (let i = 0; i < 5000; i++) big.set(i % 1700, i);
    expect(big.size).toBeLessThanOrEqual(1000);
  });
});
