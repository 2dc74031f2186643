import { describe, expect, it } from 'vitest';
import { BoundedQueue } from '../../src/pipeline/bounded-queue.js';

describe('BoundedQueue', () => {
  it('refuses items beyond its capacity and keeps FIFO order across wrap-around', () => {
    const q = new BoundedQueue<number>(3);
    expect([1, 2, 3, 4].map((n) => q.push(n))).toEqual([true, true, true, false]);
    expect(q.take(2)).toEqual([1, 2]);
    q.push(5);
    q.push(6);
    expect(q.push(7)).toBe(false);
    expect(q.take(10)).toEqual([3, 5, 6]);
    expect(q.length).toBe(0);
  });

  it('puts items back at the front and evicts the newest on overflow', () => {
    const q = new BoundedQueue<number>(4);
    q.push(3);
    q.push(4);
    q.push(5);
    expect(q.unshift([1, 2])).toEqual([5]);
    expect(q.take(4)).toEqual([1, 2, 3, 4]);
  });
});
