/**
 * A map that keeps its `capacity` most recently inserted keys: inserting a new key past the
 * capacity forgets the oldest (a ring of keys, so eviction is O(1) however many deletes came
 * before; setting an existing key again replaces its value without refreshing its age).
 */
export class BoundedMap<K, V> {
  private readonly _map = new Map<K, V>();
  private readonly _ring: (K | undefined)[];
  private _pos = 0;

  constructor(capacity: number) {
    this._ring = new Array<K | undefined>(Math.max(1, Math.floor(capacity)));
  }

  get size(): number {
    return this._map.size;
  }

  get(key: K): V | undefined {
    return this._map.get(key);
  }

  has(key: K): boolean {
    return this._map.has(key);
  }

  /**
   * Forgets `key` now. Its ring slot is reused when its turn comes, which may forget the same
   * key set again meanwhile a little early: meant for keys that are not set again.
   */
  delete(key: K): void {
    this._map.delete(key);
  }

  set(key: K, value: V): void {
    // One lookup for a key already there: the map only grows for a new one.
    const size = this._map.size;
    this._map.set(key, value);
    if (this._map.size === size) return;
    const old = this._ring[this._pos];
    // A ring slot can still hold a key deleted and now set again: that one stays.
    if (old !== undefined && old !== key) this._map.delete(old);
    this._ring[this._pos] = key;
    this._pos = this._pos + 1 === this._ring.length ? 0 : this._pos + 1;
  }
}
