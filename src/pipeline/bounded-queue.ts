/** A FIFO with a fixed capacity, O(1) push and shift, and a front insertion for requeues. */
export class BoundedQueue<T> {
  readonly capacity: number;
  private _buf: (T | undefined)[];
  private _head = 0;
  private _size = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
    this._buf = new Array<T | undefined>(capacity);
  }

  get length(): number {
    return this._size;
  }

  /** Appends; false when full (the item is not stored). */
  push(item: T): boolean {
    if (this._size >= this.capacity) return false;
    this._buf[(this._head + this._size) % this.capacity] = item;
    this._size++;
    return true;
  }

  /** Removes and returns up to `n` items from the front. */
  take(n: number): T[] {
    const out: T[] = [];
    while (out.length < n && this._size > 0) {
      out.push(this._buf[this._head] as T);
      this._buf[this._head] = undefined;
      this._head = (this._head + 1) % this.capacity;
      this._size--;
    }
    return out;
  }

  /**
   * Puts `items` back at the front, in order. When that overflows, the newest items (at the
   * back) are evicted and returned so the caller can count them.
   */
  unshift(items: readonly T[]): T[] {
    const rest = this.take(this._size);
    const all = [...items, ...rest];
    const keep = all.slice(0, this.capacity);
    for (const item of keep) this.push(item);
    return all.slice(this.capacity);
  }
}
