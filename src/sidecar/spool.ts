import { jsonArrayBytes } from '../internal/json-bytes.js';
import type { AttrValue, SpanView } from '../span/span-view.js';

/**
 * Where the billing-relevant part of each accepted OTLP request lives until the destination took
 * what it produced: the persistent queue of the sidecar (its records are held from admission,
 * through trace holding and conversion, to settlement). A record is the GenAI spans of one
 * request plus the held ancestors of their traces; with a disk spool it is written (and
 * fsync'ed, with its directory) before the request is acknowledged and removed only when every
 * transaction made from it was accepted or refused for good.
 *
 * The bound: new data may fill the spool up to {@link RESERVE_FRACTION} below `maxBytes`; the
 * rest is kept for `priority` records, the ones that complete traces already held (their root
 * span): accepting those lets records leave, refusing them would bill those calls unattributed.
 * Room is reserved before a record is written, so concurrent writes never pass the bound.
 */
export interface Spool {
  readonly durable: boolean;
  /** Bytes held (records and logs on disk, or the records' approximate size in memory). */
  bytes(): number;
  records(): number;
  /** Whether a record could be taken now (`priority`: one completing held traces). */
  hasRoom(priority?: boolean): boolean;
  /** Why the spool cannot take records now (a disk that refuses writes), or undefined. */
  problem(): string | undefined;
  /**
   * Stores a record; resolves once it is safe (on disk) and returns its id. Rejects with
   * {@link SpoolFullError} when it does not fit, with {@link SpoolUnavailableError} when the
   * disk refuses writes.
   */
  append(spans: readonly SpanView[], priority?: boolean): Promise<number>;
  /** The record is no longer needed. */
  release(id: number): void;
  /**
   * Remembers accepted transactions (keys `traceId:spanId`) made from these records; resolves
   * once that is durable (after a disk failure, once the disk takes writes again). Never rejects.
   */
  ack(keys: readonly string[], recordIds: readonly number[]): Promise<void>;
  /** Notes, before they leave, transactions put on the wire (a crash before their ack makes them possible duplicates). */
  sending(keys: readonly string[], recordIds: readonly number[]): void;
  /** Waits for pending removals and log writes (tests). */
  settle(): Promise<void>;
  /** Clean shutdown: settles, compacts the logs, gives the directory up. */
  close(): Promise<void>;
}

/** What a disk spool found at start. */
export interface SpoolContents {
  records: { id: number; spans: SpanView[] }[];
  /** Transactions already accepted (not to be sent again). */
  acked: Set<string>;
  /** Transactions put on the wire and not known to be accepted: a resend may be a copy. */
  sent: Set<string>;
  /** Of `sent`, those the previous run put on the wire itself (what its end may have left). */
  sentByLastRun: Set<string>;
  /** Files that could not be read (torn writes from a crash before the ack): removed. */
  discarded: number;
}

/** The part of `maxBytes` kept for records that complete held traces. */
export const RESERVE_FRACTION = 0.1;

/** The record does not fit in the spool's bound (the request is refused, to be retried). */
export class SpoolFullError extends Error {
  constructor(size: number, used: number, limit: number) {
    super(`a record of ${size} bytes does not fit (${used} of ${limit} bytes used)`);
    this.name = 'SpoolFullError';
  }
}

/** The disk refuses writes (full, read-only, failing): nothing is taken until it recovers. */
export class SpoolUnavailableError extends Error {
  /** The error code of the failed write (ENOSPC, EROFS, EIO, ...), when known. */
  readonly code: string | undefined;
  constructor(problem: string, code?: string) {
    super(problem);
    this.name = 'SpoolUnavailableError';
    this.code = code;
  }
}

/** The byte limit for new data, and for priority records. */
export function limitOf(max: number, priority: boolean | undefined): number {
  return priority ? max : Math.floor(max * (1 - RESERVE_FRACTION));
}

function replacer(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? { $bytes: Buffer.from(value).toString('base64') } : value;
}

function reviver(_key: string, value: unknown): unknown {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const b = (value as { $bytes?: unknown }).$bytes;
    if (typeof b === 'string' && Object.keys(value).length === 1)
      return new Uint8Array(Buffer.from(b, 'base64'));
  }
  return value;
}

export function serialiseSpans(spans: readonly SpanView[]): string {
  return JSON.stringify(spans, replacer);
}

/** `serialiseSpans` as UTF-8 bytes (a record's content), without one large string. */
export function spansBytes(spans: readonly SpanView[]): Buffer {
  return jsonArrayBytes(spans, '', '', replacer);
}

export function parseSpans(text: string): SpanView[] {
  const v = JSON.parse(text, reviver) as unknown;
  if (!Array.isArray(v)) throw new Error('not an array of spans');
  return v as SpanView[];
}

/** Keeps records in memory only (no `--spool-dir`): same accounting, no durability. */
export class MemorySpool implements Spool {
  readonly durable = false;
  private readonly _max: number;
  private readonly _sizes = new Map<number, number>();
  private _bytes = 0;
  private _next = 1;

  constructor(maxBytes: number) {
    this._max = maxBytes;
  }
  bytes(): number {
    return this._bytes;
  }
  records(): number {
    return this._sizes.size;
  }
  hasRoom(priority?: boolean): boolean {
    return this._bytes < limitOf(this._max, priority);
  }
  problem(): undefined {
    return undefined;
  }
  append(spans: readonly SpanView[], priority?: boolean): Promise<number> {
    const size = approximateSize(spans);
    const limit = limitOf(this._max, priority);
    if (this._bytes + size > limit) return Promise.reject(new SpoolFullError(size, this._bytes, limit));
    const id = this._next++;
    this._sizes.set(id, size);
    this._bytes += size;
    return Promise.resolve(id);
  }
  release(id: number): void {
    const size = this._sizes.get(id);
    if (size === undefined) return;
    this._sizes.delete(id);
    this._bytes -= size;
  }
  ack(): Promise<void> {
    return Promise.resolve();
  }
  sending(): void {}
  settle(): Promise<void> {
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

function approximateSize(spans: readonly SpanView[]): number {
  let n = 0;
  for (const s of spans) {
    n += 200;
    const a = s.attributes;
    for (const k in a) n += k.length + valueSize(a[k]);
  }
  return n;
}

function valueSize(v: AttrValue | undefined): number {
  if (typeof v === 'string') return v.length;
  if (v instanceof Uint8Array) return v.length;
  if (Array.isArray(v)) return v.reduce<number>((a, x) => a + valueSize(x as AttrValue), 8);
  if (v !== null && typeof v === 'object') return JSON.stringify(v, replacer).length;
  return 8;
}
