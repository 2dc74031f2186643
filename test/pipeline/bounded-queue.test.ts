import { describe, expect, it } from 'vitest';
import { BoundedQueue } from '../../src/pipeline/bounded-queue.js';

describe('BoundedQueue', () => {
  it('takes what fits and keeps FIFO order across wrap-around', () => {
    const q = new BoundedQueue<number>(3);
    expect(q.offer([1, 2, 3, 4])).toBe(3);
    expect(q.take(2)).toEqual([1, 2]);
    q.release(2);
    expect(q.offer([5, 6, 7])).toBe(2);
    expect(q.take(10)).toEqual([3, 5, 6]);
    expect(q.length).toBe(0);
  });

  it('counts what is in flight against the capacity until it is released', () => {
    const q = new BoundedQueue<number>(4);
    q.offer([1, 2, 3, 4]);
    expect(q.take(3)).toEqual([1, 2, 3]);
    expect(q.length).toBe(1);
    expect(q.inFlight).toBe(3);
    expect(q.free).toBe(0);
    expect(q.offer([5])).toBe(0);
    q.release(1);
    expect(q.free).toBe(1);
    expect(q.offer([5, 6])).toBe(1);
  });

  it('a batch put back always fits at the front: nothing taken is ever evicted', () => {
    const q = new BoundedQueue<number>(4);
    q.offer([1, 2, 3, 4]);
    const batch = q.take(2);
    expect(q.offer([5, 6])).toBe(0); // full: the batch in flight holds its places
    q.requeue(batch);
    expect(q.inFlight).toBe(0);
    expect(q.take(4)).toEqual([1, 2, 3, 4]);
  });

  it("a batch put back at the end also fits, across the ring's wrap, and is taken after the others", () => {
    const q = new BoundedQueue<number>(4);
    q.offer([1, 2, 3]);
    const batch = q.take(2);
    expect(q.offer([4])).toBe(1);
    expect(q.offer([5])).toBe(0);
    q.requeueLast(batch);
    expect(q.inFlight).toBe(0);
    expect(q.length).toBe(4);
    expect(q.free).toBe(0);
    expect(q.take(4)).toEqual([3, 4, 1, 2]);
  });

  it('drains what is queued, not what is in flight', () => {
    const q = new BoundedQueue<number>(4);
    q.offer([1, 2, 3]);
    q.take(1);
    expect(q.drain()).toEqual([2, 3]);
    expect(q.inFlight).toBe(1);
    expect(q.free).toBe(3);
  });
});
