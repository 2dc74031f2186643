/**
 * The pipeline's queue: a FIFO whose capacity counts what is queued AND what is in flight. A
 * batch taken for sending keeps its places until it is settled, so when it comes back (its
 * retry budget ran out, sending paused) it always fits at the front again: nothing already
 * taken is ever evicted to make room. O(1) per item; the ring never grows past the capacity.
 */
export class BoundedQueue<T> {
  readonly capacity: number;
  private readonly _buf: (T | undefined)[];
  private _head = 0;
  private _size = 0;
  private _inFlight = 0;

  constructor(capacity: number) {
    this.capacity = Math.max(1, Math.floor(capacity));
    this._buf = new Array<T | undefined>(this.capacity);
  }

  /** Items waiting to be taken. */
  get length(): number {
    return this._size;
  }

  /** Items taken and not yet settled or put back. */
  get inFlight(): number {
    return this._inFlight;
  }

  /** Places left for new items: the capacity less what is queued and in flight. */
  get free(): number {
    return this.capacity - this._size - this._inFlight;
  }

  /** Appends as many of `items` as fit, in order; returns how many (the first n) were taken. */
  offer(items: readonly T[]): number {
    const n = Math.min(items.length, this.free);
    for (let i = 0; i < n; i++) {
      this._buf[(this._head + this._size) % this.capacity] = items[i];
      this._size++;
    }
    return n;
  }

  /** Moves up to `n` items from the front into flight. */
  take(n: number): T[] {
    const out: T[] = [];
    while (out.length < n && this._size > 0) {
      out.push(this._buf[this._head] as T);
      this._buf[this._head] = undefined;
      this._head = (this._head + 1) % this.capacity;
      this._size--;
    }
    this._inFlight += out.length;
    return out;
  }

  /** Puts items in flight back at the front, in order (their places were kept: always fits). */
  requeue(items: readonly T[]): void {
    const n = Math.min(items.length, this._inFlight);
    this._inFlight -= n;
    for (let i = n - 1; i >= 0; i--) {
      this._head = (this._head - 1 + this.capacity) % this.capacity;
      this._buf[this._head] = items[i];
      this._size++;
    }
  }

  /**
   * Puts items in flight back at the end, in order (their places were kept: always fits), so
   * that other items are taken first.
   */
  requeueLast(items: readonly T[]): void {
    const n = Math.min(items.length, this._inFlight);
    this._inFlight -= n;
    // The n places just freed take them all.
    this.offer(n === items.length ? items : items.slice(0, n));
  }

  /** `n` items in flight were settled: their places are free again. */
  release(n: number): void {
    this._inFlight = Math.max(0, this._inFlight - n);
  }

  /** Removes everything queued (not what is in flight). */
  drain(): T[] {
    const out = this.take(this._size);
    this._inFlight -= out.length;
    return out;
  }
}
