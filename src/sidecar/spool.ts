import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { diag } from '@opentelemetry/api';
import type { AttrValue, SpanView } from '../span/span-view.js';

/**
 * Where the billing-relevant part of each accepted OTLP request lives until Fenra accepted
 * what it produced. A record is the GenAI spans of one request plus the held ancestors of their
 * traces; it is written (and fsync'ed, with its directory) before the request is acknowledged
 * and removed only when every transaction made from it was accepted or refused for good.
 * An ack log names the transactions Fenra already accepted, so a replay after a crash does
 * not bill them twice while their record still waits for a sibling trace; it is compacted
 * while running and counts toward the size bound.
 *
 * The bound: new data may fill the spool up to {@link RESERVE_FRACTION} below `maxBytes`; the
 * rest is kept for `priority` records, the ones that complete traces already held (their root
 * span): accepting those lets records leave, refusing them would bill those calls unattributed.
 * Room is reserved before a record is written, so concurrent writes never pass the bound.
 */
export interface Spool {
  readonly durable: boolean;
  /** Bytes held (records and the ack log on disk, or the records' approximate size in memory). */
  bytes(): number;
  records(): number;
  /** Whether a record could be taken now (`priority`: one completing held traces). */
  hasRoom(priority?: boolean): boolean;
  /**
   * Stores a record; resolves once it is safe (on disk) and returns its id. Rejects with
   * {@link SpoolFullError} when it does not fit, with the I/O error when it cannot be written.
   */
  append(spans: readonly SpanView[], priority?: boolean): Promise<number>;
  /** The record is no longer needed. */
  release(id: number): void;
  /** Remembers accepted transactions (keys `traceId:spanId`) made from these records. */
  ack(keys: readonly string[], recordIds: readonly number[]): Promise<void>;
  /** Waits for pending removals and ack writes (tests). */
  settle(): Promise<void>;
  /** Clean shutdown: settles, compacts the ack log (removed when no record is left), unlocks. */
  close(): Promise<void>;
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

/** The byte limit for new data, and for priority records. */
function limitOf(max: number, priority: boolean | undefined): number {
  return priority ? max : Math.floor(max * (1 - RESERVE_FRACTION));
}

const log = diag.createComponentLogger({ namespace: '@fenra/otel/sidecar-spool' });

export interface SpoolContents {
  records: { id: number; spans: SpanView[] }[];
  acked: Set<string>;
  /** Files that could not be read (torn writes from a crash before the ack): removed. */
  discarded: number;
}

const RECORD = /^rec-(\d{12})\.json$/;
const ACKS = 'acks.log';
const LOCK = 'lock.pid';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
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

/** The ack log is rewritten (live entries only) once it passes this size, or twice its live size. */
const ACK_COMPACT_MIN_BYTES = 1024 * 1024;

interface AckEntry {
  ids: readonly number[];
  line: string;
}

/** Records as files in a directory, written with fsync before anything is acknowledged. */
export class DiskSpool implements Spool {
  readonly durable = true;
  private readonly _dir: string;
  private readonly _max: number;
  private readonly _sizes = new Map<number, number>();
  /** Record bytes on disk, plus room reserved by writes under way. */
  private _bytes = 0;
  private _next = 1;
  private readonly _removals = new Set<Promise<void>>();
  private _ackChain: Promise<void> = Promise.resolve();
  /** Ack lines waiting for the next write, and the callers waiting for them to be durable. */
  private _ackLines: AckEntry[] = [];
  private _ackWaiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  private _ackWriting = false;
  /** What the ack log holds (bounded by compaction), its size, and the records it names. */
  private _ackLog: AckEntry[] = [];
  private _ackBytes = 0;
  private _ackedIds = new Set<number>();
  /** Records named in the ack log whose removal is not yet known to be durable. */
  private readonly _removing = new Set<number>();
  private _compactAt = ACK_COMPACT_MIN_BYTES;

  constructor(dir: string, maxBytes: number) {
    this._dir = dir;
    this._max = maxBytes;
  }

  /**
   * Creates the directory if needed, takes it (one process per spool: throws if a live process
   * holds it) and reads what a previous run left behind.
   */
  load(): SpoolContents {
    mkdirSync(this._dir, { recursive: true });
    this._lock();
    const names = readdirSync(this._dir).sort();
    const records: SpoolContents['records'] = [];
    let discarded = 0;
    for (const name of names) {
      const m = RECORD.exec(name);
      if (!m) {
        if (name.endsWith('.tmp')) {
          unlinkSync(join(this._dir, name));
          discarded++;
        }
        continue;
      }
      const id = Number(m[1]);
      const path = join(this._dir, name);
      this._next = Math.max(this._next, id + 1);
      try {
        const spans = parseSpans(readFileSync(path, 'utf8'));
        const size = statSync(path).size;
        this._sizes.set(id, size);
        this._bytes += size;
        records.push({ id, spans });
      } catch {
        unlinkSync(path);
        discarded++;
      }
    }
    const acked = new Set<string>();
    let ackText = '';
    try {
      ackText = readFileSync(join(this._dir, ACKS), 'utf8');
    } catch {
      // no ack log yet
    }
    for (const line of ackText.split('\n')) {
      const [list, key] = line.split(' ');
      if (!list || !key) continue;
      const ids = list.split(',').map(Number);
      if (ids.some((id) => this._sizes.has(id))) {
        acked.add(key);
        this._remember({ ids, line: line + '\n' });
      }
    }
    // Compact the ack log to the entries whose records are still here (none: no file).
    if (this._ackLog.length) {
      writeDurably(join(this._dir, ACKS + '.tmp'), this._ackLog.map((e) => e.line).join(''));
      renameDurably(this._dir, ACKS + '.tmp', ACKS);
    } else if (existsSync(join(this._dir, ACKS))) {
      unlinkSync(join(this._dir, ACKS));
    }
    this._compactAt = Math.max(ACK_COMPACT_MIN_BYTES, 2 * this._ackBytes);
    return { records, acked, discarded };
  }

  bytes(): number {
    return this._bytes + this._ackBytes;
  }
  records(): number {
    return this._sizes.size;
  }
  hasRoom(priority?: boolean): boolean {
    return this.bytes() < limitOf(this._max, priority);
  }

  /** A pid file; a stale one (dead process, or our own pid after a container restart) is taken over. */
  private _lock(): void {
    const path = join(this._dir, LOCK);
    let holder: number | undefined;
    try {
      holder = Number(readFileSync(path, 'utf8').trim());
    } catch {
      // no lock yet
    }
    if (
      holder !== undefined &&
      Number.isInteger(holder) &&
      holder > 0 &&
      holder !== process.pid &&
      alive(holder)
    ) {
      throw new Error(`the spool ${this._dir} is in use by process ${holder}`);
    }
    writeDurably(path, `${process.pid}\n`);
  }

  /** Gives the directory up (clean shutdown). */
  unlock(): void {
    try {
      unlinkSync(join(this._dir, LOCK));
    } catch {
      // already gone
    }
  }

  async append(spans: readonly SpanView[], priority?: boolean): Promise<number> {
    const data = Buffer.from(serialiseSpans(spans));
    const limit = limitOf(this._max, priority);
    const used = this.bytes();
    if (used + data.length > limit) throw new SpoolFullError(data.length, used, limit);
    // Reserved before the write: writes under way at once cannot pass the bound together.
    this._bytes += data.length;
    const id = this._next++;
    const path = join(this._dir, recordName(id));
    let created = false;
    try {
      // A torn write can only be a record never acknowledged: load() discards unparsable files.
      const fh = await open(path, 'wx');
      created = true;
      try {
        await fh.writeFile(data);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await syncDir(this._dir);
    } catch (e) {
      this._bytes -= data.length;
      // Never leave a partial record behind (a full disk): it would be replayed if it parsed.
      if (created) await unlink(path).catch(() => undefined);
      throw e;
    }
    this._sizes.set(id, data.length);
    return id;
  }

  release(id: number): void {
    const size = this._sizes.get(id);
    if (size === undefined) return;
    this._sizes.delete(id);
    this._bytes -= size;
    if (this._ackedIds.has(id)) this._removing.add(id);
    const p = unlink(join(this._dir, recordName(id))).then(
      () => undefined,
      () => undefined,
    );
    this._removals.add(p);
    void p.then(() => this._removals.delete(p));
    // The last record gone: the whole ack log is dead weight.
    if (this._sizes.size === 0 && this._ackBytes > 0) this._kickAcks();
  }

  ack(keys: readonly string[], recordIds: readonly number[]): Promise<void> {
    if (keys.length === 0) return Promise.resolve();
    const ids = recordIds.join(',');
    for (const k of keys) this._ackLines.push({ ids: recordIds, line: `${ids} ${k}\n` });
    const done = new Promise<void>((resolve, reject) => this._ackWaiters.push({ resolve, reject }));
    // One append + fsync for everything acknowledged meanwhile: a serial fsync per trace falls
    // behind under load, and every ack still queued at a crash is a transaction billed again.
    this._kickAcks();
    return done;
  }

  private _kickAcks(): void {
    if (!this._ackWriting) this._ackChain = this._writeAcks();
  }

  private _remember(e: AckEntry): void {
    this._ackLog.push(e);
    this._ackBytes += e.line.length;
    for (const id of e.ids) this._ackedIds.add(id);
  }

  /** Ack writes and compactions, one at a time, until nothing is left to do. */
  private async _writeAcks(): Promise<void> {
    this._ackWriting = true;
    let compact = true;
    try {
      for (;;) {
        if (this._ackLines.length > 0) await this._appendAcks();
        else if (
          compact &&
          this._ackBytes > 0 &&
          (this._sizes.size === 0 || this._ackBytes > this._compactAt)
        ) {
          const before = this._ackBytes;
          try {
            await this._compact();
          } catch (e) {
            log.error(`cannot compact the spool ack log: ${(e as Error).message}`);
            this._compactAt = Math.max(this._compactAt, 2 * this._ackBytes);
            compact = false;
          }
          // Entries of records still being removed wait for a later pass.
          if (this._ackBytes === before) compact = false;
        } else break;
      }
    } finally {
      this._ackWriting = false;
    }
  }

  private async _appendAcks(): Promise<void> {
    const entries = this._ackLines;
    const waiters = this._ackWaiters;
    this._ackLines = [];
    this._ackWaiters = [];
    try {
      const fh = await open(join(this._dir, ACKS), 'a');
      try {
        await fh.writeFile(entries.map((e) => e.line).join(''));
        await fh.sync();
      } finally {
        await fh.close();
      }
      for (const e of entries) this._remember(e);
      for (const w of waiters) w.resolve();
    } catch (e) {
      for (const w of waiters) w.reject(e);
    }
  }

  /**
   * Rewrites the ack log with the entries naming a record still on disk. A record counts as
   * gone once its removal is durable (unlinked, then the directory synced): an entry outliving
   * its record only costs a line, a record outliving its entry would be billed again.
   */
  private async _compact(): Promise<void> {
    const removed = [...this._removing];
    await Promise.all([...this._removals]);
    await syncDir(this._dir);
    for (const id of removed) this._removing.delete(id);
    const live = (id: number): boolean => this._sizes.has(id) || this._removing.has(id);
    const keep = this._ackLog.filter((e) => e.ids.some(live));
    const path = join(this._dir, ACKS);
    if (keep.length === 0) await unlink(path).catch(() => undefined);
    else {
      const fh = await open(path + '.tmp', 'w');
      try {
        await fh.writeFile(keep.map((e) => e.line).join(''));
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(path + '.tmp', path);
    }
    await syncDir(this._dir);
    this._ackLog = [];
    this._ackBytes = 0;
    this._ackedIds = new Set();
    for (const e of keep) this._remember(e);
    this._compactAt = Math.max(ACK_COMPACT_MIN_BYTES, 2 * this._ackBytes);
  }

  async settle(): Promise<void> {
    await Promise.all([...this._removals]);
    await this._ackChain;
  }

  async close(): Promise<void> {
    await this.settle();
    if (this._ackBytes > 0) {
      this._ackWriting = true;
      this._ackChain = this._compact()
        .catch((e: unknown) => log.error(`cannot compact the spool ack log: ${(e as Error).message}`))
        .finally(() => (this._ackWriting = false));
      await this._ackChain;
    }
    this.unlock();
  }
}

const recordName = (id: number): string => `rec-${String(id).padStart(12, '0')}.json`;

function writeDurably(path: string, text: string): void {
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function renameDurably(dir: string, from: string, to: string): void {
  renameSync(join(dir, from), join(dir, to));
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } catch {
    // some file systems refuse fsync on a directory; the file itself is synced
  } finally {
    await fh.close();
  }
}
