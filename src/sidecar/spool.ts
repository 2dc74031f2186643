import {
  closeSync,
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
import { open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { AttrValue, SpanView } from '../span/span-view.js';

/**
 * Where the billing-relevant part of each accepted OTLP request lives until Fenra accepted
 * what it produced. A record is the GenAI spans of one request plus the held ancestors of their
 * traces; it is written (and fsync'ed, with its directory) before the request is acknowledged
 * and removed only when every transaction made from it was accepted or refused for good.
 * An ack log names the transactions Fenra already accepted, so a replay after a crash does
 * not bill them twice while their record still waits for a sibling trace.
 */
export interface Spool {
  readonly durable: boolean;
  /** Bytes held (records on disk, or their serialised size in memory). */
  bytes(): number;
  records(): number;
  hasRoom(): boolean;
  /** Stores a record; resolves once it is safe (on disk) and returns its id. */
  append(spans: readonly SpanView[]): Promise<number>;
  /** The record is no longer needed. */
  release(id: number): void;
  /** Remembers accepted transactions (keys `traceId:spanId`) made from these records. */
  ack(keys: readonly string[], recordIds: readonly number[]): Promise<void>;
  /** Waits for pending removals (shutdown, tests). */
  settle(): Promise<void>;
}

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
  hasRoom(): boolean {
    return this._bytes < this._max;
  }
  append(spans: readonly SpanView[]): Promise<number> {
    const id = this._next++;
    const size = approximateSize(spans);
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
}

function approximateSize(spans: readonly SpanView[]): number {
  let n = 0;
  for (const s of spans) {
    n += 200;
    for (const [k, v] of Object.entries(s.attributes)) n += k.length + valueSize(v);
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

/** Records as files in a directory, written with fsync before anything is acknowledged. */
export class DiskSpool implements Spool {
  readonly durable = true;
  private readonly _dir: string;
  private readonly _max: number;
  private readonly _sizes = new Map<number, number>();
  private _bytes = 0;
  private _next = 1;
  private readonly _removals = new Set<Promise<void>>();
  private _ackChain: Promise<void> = Promise.resolve();
  /** Ack lines waiting for the next write, and the callers waiting for them to be durable. */
  private _ackLines: string[] = [];
  private _ackWaiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  private _ackWriting = false;

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
    const keep: string[] = [];
    let ackText = '';
    try {
      ackText = readFileSync(join(this._dir, ACKS), 'utf8');
    } catch {
      // no ack log yet
    }
    for (const line of ackText.split('\n')) {
      const [ids, key] = line.split(' ');
      if (!ids || !key) continue;
      if (ids.split(',').some((id) => this._sizes.has(Number(id)))) {
        acked.add(key);
        keep.push(line);
      }
    }
    // Compact the ack log to the entries whose records are still here.
    writeDurably(join(this._dir, ACKS + '.tmp'), keep.length ? keep.join('\n') + '\n' : '');
    renameDurably(this._dir, ACKS + '.tmp', ACKS);
    return { records, acked, discarded };
  }

  bytes(): number {
    return this._bytes;
  }
  records(): number {
    return this._sizes.size;
  }
  hasRoom(): boolean {
    return this._bytes < this._max;
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

  async append(spans: readonly SpanView[]): Promise<number> {
    const id = this._next++;
    const name = `rec-${String(id).padStart(12, '0')}.json`;
    const data = Buffer.from(serialiseSpans(spans));
    // A torn write can only be a record never acknowledged: load() discards unparsable files.
    const fh = await open(join(this._dir, name), 'wx');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await syncDir(this._dir);
    this._sizes.set(id, data.length);
    this._bytes += data.length;
    return id;
  }

  release(id: number): void {
    const size = this._sizes.get(id);
    if (size === undefined) return;
    this._sizes.delete(id);
    this._bytes -= size;
    const p = unlink(join(this._dir, `rec-${String(id).padStart(12, '0')}.json`)).then(
      () => undefined,
      () => undefined,
    );
    this._removals.add(p);
    void p.then(() => this._removals.delete(p));
  }

  ack(keys: readonly string[], recordIds: readonly number[]): Promise<void> {
    if (keys.length === 0) return Promise.resolve();
    const ids = recordIds.join(',');
    for (const k of keys) this._ackLines.push(`${ids} ${k}\n`);
    const done = new Promise<void>((resolve, reject) => this._ackWaiters.push({ resolve, reject }));
    // One append + fsync for everything acknowledged meanwhile: a serial fsync per trace falls
    // behind under load, and every ack still queued at a crash is a transaction billed again.
    if (!this._ackWriting) this._ackChain = this._writeAcks();
    return done;
  }

  private async _writeAcks(): Promise<void> {
    this._ackWriting = true;
    try {
      while (this._ackLines.length > 0) {
        const text = this._ackLines.join('');
        const waiters = this._ackWaiters;
        this._ackLines = [];
        this._ackWaiters = [];
        try {
          const fh = await open(join(this._dir, ACKS), 'a');
          try {
            await fh.writeFile(text);
            await fh.sync();
          } finally {
            await fh.close();
          }
          for (const w of waiters) w.resolve();
        } catch (e) {
          for (const w of waiters) w.reject(e);
        }
      }
    } finally {
      this._ackWriting = false;
    }
  }

  async settle(): Promise<void> {
    await Promise.all([...this._removals]);
    await this._ackChain;
  }
}

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
