import { join } from 'node:path';
import type { SpoolFs } from './spool-fs.js';

/** One line of a spool log: the records a transaction came from, and its key. */
interface Entry {
  ids: readonly number[];
  line: string;
}

/** The log is rewritten (live entries only) once it passes this size, or twice its live size. */
const COMPACT_MIN_BYTES = 1024 * 1024;

/**
 * An append-only log of transaction keys next to the spool's records: `acks.log` (accepted by
 * the destination: never sent again; appended with fsync, many acks per write) or `sent.log`
 * (put on the wire: if the process dies before their ack, a resend may be a copy; appended
 * without fsync, which a killed process does not need). An entry matters only while one of its
 * records is on disk; compaction drops the others.
 *
 * A failed append keeps its entries and their waiters: {@link retry} writes them once the disk
 * takes writes again, so an ack is never lost to a full disk while the process lives.
 */
export class SpoolLog {
  readonly file: string;
  private readonly _fs: SpoolFs;
  private readonly _durable: boolean;
  private readonly _onError: (e: unknown) => void;
  private _log: Entry[] = [];
  private _bytes = 0;
  private _pending: Entry[] = [];
  private _waiters: (() => void)[] = [];
  private _chain: Promise<void> = Promise.resolve();
  private _writing = false;
  private _failed = false;
  /** A write failed: the file may end with a torn line, so the next write starts a new one. */
  private _torn = false;
  private _compactAt = COMPACT_MIN_BYTES;

  constructor(fs: SpoolFs, dir: string, name: string, durable: boolean, onError: (e: unknown) => void) {
    this._fs = fs;
    this.file = join(dir, name);
    this._durable = durable;
    this._onError = onError;
  }

  get bytes(): number {
    return this._bytes;
  }

  /** Entries waiting for a write that failed (or is under way). */
  get pending(): number {
    return this._pending.length;
  }

  /**
   * Reads the log a previous run left; keeps (and returns the keys of) entries with a live record.
   * With `carry`, the entries are marked as carried (a third field `c`, rewritten at once) and
   * `lastRun` holds the keys of those the previous run wrote itself: a run that dies before
   * re-sending what it inherited does not count it again (without `carry` it stays empty).
   */
  load(live: (id: number) => boolean, carry = false): { keys: Set<string>; lastRun: Set<string> } {
    let text = '';
    try {
      text = this._fs.read(this.file);
    } catch {
      // no log yet
    }
    const keys = new Set<string>();
    let dropped = false;
    const lastRun = new Set<string>();
    for (const line of text.split('\n')) {
      const [list, key, mark] = line.split(' ');
      if (!list || !key) {
        dropped ||= line !== '';
        continue;
      }
      const ids = list.split(',').map(Number);
      if (!ids.some(live)) {
        dropped = true;
        continue;
      }
      keys.add(key);
      if (carry && mark === undefined) {
        lastRun.add(key);
        dropped = true; // rewritten marked
      }
      this._remember({ ids, line: carry ? `${list} ${key} c\n` : line + '\n' });
    }
    if (dropped) this._rewriteNow();
    this._compactAt = Math.max(COMPACT_MIN_BYTES, 2 * this._bytes);
    return { keys, lastRun };
  }

  /** At start: the log keeps only its live entries (none: no file). Best effort: a failure keeps the old file. */
  private _rewriteNow(): void {
    try {
      if (this._log.length === 0) this._fs.unlinkSync(this.file);
      else {
        this._fs.writeSync(this.file + '.tmp', this._log.map((e) => e.line).join(''), 'w', this._durable);
        this._fs.renameSync(this.file + '.tmp', this.file);
      }
    } catch {
      // a full or read-only disk: dead entries only cost their lines
    }
  }

  /** Appends entries; resolves once written (with fsync for a durable log). Never rejects. */
  append(keys: readonly string[], recordIds: readonly number[]): Promise<void> {
    if (keys.length === 0) return Promise.resolve();
    const ids = recordIds.join(',');
    for (const k of keys) this._pending.push({ ids: recordIds, line: `${ids} ${k}\n` });
    const done = new Promise<void>((resolve) => this._waiters.push(resolve));
    this._kick();
    return done;
  }

  /** Appends at once, synchronously, without fsync (the sent log). False when the write failed. */
  appendNow(keys: readonly string[], recordIds: readonly number[]): boolean {
    if (keys.length === 0 || this._failed) return false;
    const ids = recordIds.join(',');
    const entries = keys.map((k) => ({ ids: recordIds, line: `${ids} ${k}\n` }));
    if (this._writing) {
      // A write or a compaction is under way: these go with the next write.
      this._pending.push(...entries);
      return true;
    }
    try {
      this._fs.writeSync(
        this.file,
        (this._torn ? '\n' : '') + entries.map((e) => e.line).join(''),
        'a',
        false,
      );
      this._torn = false;
    } catch (e) {
      this._torn = true;
      this._onError(e);
      return false;
    }
    for (const e of entries) this._remember(e);
    return true;
  }

  /** Writes what a failed write left pending. */
  retry(): void {
    this._failed = false;
    this._kick();
  }

  /** Whether compaction would shrink it: past its threshold, or nothing live left. */
  wantsCompaction(anyRecordLeft: boolean): boolean {
    return this._bytes > 0 && (!anyRecordLeft || this._bytes > this._compactAt);
  }

  /**
   * Rewrites the log with the entries naming a live record (none: the file is removed). Appends
   * wait meanwhile (an append to the old file would be lost by the rename). Throws on failure.
   */
  async compact(live: (id: number) => boolean): Promise<void> {
    while (this._writing) await this._chain;
    const keep = this._log.filter((e) => e.ids.some(live));
    if (keep.length === this._log.length && keep.length > 0) return;
    this._writing = true;
    const run = async (): Promise<void> => {
      if (keep.length === 0) await this._fs.unlink(this.file).catch(() => undefined);
      else {
        await this._fs.write(this.file + '.tmp', keep.map((e) => e.line).join(''), 'w', this._durable);
        await this._fs.rename(this.file + '.tmp', this.file);
      }
      this._log = [];
      this._bytes = 0;
      for (const e of keep) this._remember(e);
      this._compactAt = Math.max(COMPACT_MIN_BYTES, 2 * this._bytes);
    };
    let error: unknown;
    this._chain = run()
      .catch((e: unknown) => void (error = e ?? new Error('compaction failed')))
      .finally(() => {
        this._writing = false;
        if (!this._failed && this._pending.length > 0) this._kick();
      });
    await this._chain;
    if (error !== undefined) throw error;
  }

  /** Raises the compaction threshold after a failed compaction (try again when it doubled). */
  compactLater(): void {
    this._compactAt = Math.max(this._compactAt, 2 * this._bytes);
  }

  /** Resolves when no append is under way. */
  idle(): Promise<void> {
    return this._chain;
  }

  private _remember(e: Entry): void {
    this._log.push(e);
    this._bytes += e.line.length;
  }

  private _kick(): void {
    if (this._writing || this._failed || this._pending.length === 0) return;
    this._writing = true;
    this._chain = this._write().finally(() => {
      this._writing = false;
      // A retry asked for while the failed write was still finishing.
      if (!this._failed && this._pending.length > 0) this._kick();
    });
  }

  /** One append (+ fsync) for everything pending meanwhile: a serial fsync per ack falls behind. */
  private async _write(): Promise<void> {
    while (this._pending.length > 0) {
      const entries = this._pending;
      const waiters = this._waiters;
      this._pending = [];
      this._waiters = [];
      const text = (this._torn ? '\n' : '') + entries.map((e) => e.line).join('');
      try {
        await this._fs.write(this.file, text, 'a', this._durable);
        this._torn = false;
      } catch (e) {
        this._torn = true;
        // Kept, in order, for the retry; the waiters keep waiting.
        this._pending = [...entries, ...this._pending];
        this._waiters = [...waiters, ...this._waiters];
        this._failed = true;
        this._onError(e);
        return;
      }
      for (const e of entries) this._remember(e);
      for (const w of waiters) w();
    }
  }
}
