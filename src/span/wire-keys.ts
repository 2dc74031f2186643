import type { AttributeFilter, AttributeRule } from './attribute-filter.js';

/**
 * Attribute keys on the wire, for the OTLP scanner: the filter's answer per key found by its
 * bytes (KeyCache), and text of byte ranges without Buffer.toString's dispatch.
 */

export interface KnownKey {
  key: string;
  rule: AttributeRule | undefined;
  /** The key's bytes (undefined: not cached). */
  bytes: Buffer | undefined;
  /** The key that followed this one last time (keys come in the same order span after span). */
  next: KnownKey | undefined;
}

/**
 * The filter's answer per attribute key, found by the key's bytes: keys repeat from span to span,
 * and a key seen before is neither decoded again nor asked of the filter again. The key that
 * followed the previous one last time is tried first (one comparison, no hash). Bounded (senders
 * may invent keys): once full, further keys are decoded and asked each time.
 */
export class KeyCache {
  private readonly filter: AttributeFilter;
  private readonly hashes = new Int32Array(KEY_SLOTS);
  private readonly known: (KnownKey | undefined)[] = new Array<KnownKey | undefined>(KEY_SLOTS);
  private size = 0;
  /** The first key of a list last time. */
  private first: KnownKey | undefined;

  constructor(filter: AttributeFilter) {
    this.filter = filter;
  }

  /** The key in `buf` from `start` to `end`, which follows `previous` in its list (undefined: the first). */
  lookup(buf: Buffer, start: number, end: number, previous: KnownKey | undefined): KnownKey {
    const len = end - start;
    const guess = previous === undefined ? this.first : previous.next;
    if (guess !== undefined && guess.bytes!.length === len && sameBytes(guess.bytes!, buf, start, len))
      return guess;
    const found = this.find(buf, start, end);
    if (found.bytes !== undefined) {
      if (previous === undefined) this.first = found;
      else if (previous.bytes !== undefined) previous.next = found;
    }
    return found;
  }

  private find(buf: Buffer, start: number, end: number): KnownKey {
    let h = 0x811c9dc5 | 0;
    for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
    const len = end - start;
    let slot = h & (KEY_SLOTS - 1);
    for (;;) {
      const seen = this.known[slot];
      if (seen === undefined) break;
      if (this.hashes[slot] === h && seen.bytes!.length === len && sameBytes(seen.bytes!, buf, start, len))
        return seen;
      slot = (slot + 1) & (KEY_SLOTS - 1);
    }
    const key = len > 0 ? utf8(buf, start, end) : '';
    const cache = this.size < KEY_SLOTS / 2 && len <= MAX_CACHED_KEY_BYTES;
    const known: KnownKey = {
      key,
      rule: this.filter(key),
      bytes: cache ? Buffer.from(buf.subarray(start, end)) : undefined,
      next: undefined,
    };
    if (cache) {
      this.size++;
      this.hashes[slot] = h;
      this.known[slot] = known;
    }
    return known;
  }
}

/** Slots of a key cache (a power of two; filled to half at most). */
const KEY_SLOTS = 512;
const MAX_CACHED_KEY_BYTES = 256;

function sameBytes(a: Buffer, buf: Buffer, start: number, len: number): boolean {
  for (let i = 0; i < len; i++) if (a[i] !== buf[start + i]) return false;
  return true;
}

interface FastBuffer extends Buffer {
  utf8Slice?(start: number, end: number): string;
  hexSlice?(start: number, end: number): string;
}

/** Text of a byte range: Buffer's own slicers (as protobufjs uses them), without toString's dispatch. */
export function utf8(buf: FastBuffer, start: number, end: number): string {
  return buf.utf8Slice !== undefined ? buf.utf8Slice(start, end) : buf.toString('utf8', start, end);
}

export function hex(buf: FastBuffer, start: number, end: number): string {
  return buf.hexSlice !== undefined ? buf.hexSlice(start, end) : buf.toString('hex', start, end);
}
