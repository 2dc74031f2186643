import { join } from 'node:path';
import { diag } from '@opentelemetry/api';
import type { Scheduler } from '../internal/scheduler.js';
import { realScheduler } from '../internal/scheduler.js';
import type { SpanView } from '../span/span-view.js';
import type { Spool, SpoolContents } from './spool.js';
import { limitOf, parseSpans, spansBytes, SpoolFullError, SpoolUnavailableError } from './spool.js';
import type { SpoolFs } from './spool-fs.js';
import { errorCode, nodeSpoolFs } from './spool-fs.js';
import { SpoolLog } from './spool-log.js';
import { releaseSpoolLock, takeSpoolLock } from './spool-lock.js';

export interface DiskSpoolOptions {
  /** The file-system calls (tests make them fail). Default: node:fs. */
  fs?: SpoolFs;
  /** How often a spool that could not write tries again, ms. Default 1000. */
  recoveryMillis?: number;
  /** The clock and timers of recovery and of its log lines (tests: a manual one). Default: real, unref'd. */
  scheduler?: Scheduler;
}

const RECORD = /^rec-(\d{12})\.json$/;
const BALLAST = 'reserve.bin';
/** Disk failure episodes are logged at most this often (a disk flapping between full and not). */
const FLAP_LOG_MS = 60_000;

const log = diag.createComponentLogger({ namespace: '@fenra/otel/sidecar-spool' });
const recordName = (id: number): string => `rec-${String(id).padStart(12, '0')}.json`;

/**
 * Records as files in a directory, written with fsync before anything is acknowledged, with
 * two logs beside them (`acks.log`: accepted, never sent again; `sent.log`: put on the wire,
 * a copy is possible after a crash) and a lock file.
 *
 * A disk that refuses writes (full, read-only, failing) does not wedge it: the first failure
 * is logged once and {@link problem} says why (the sidecar answers 503 and is not ready); acks
 * and removals that could not be written are kept and written again, every `recoveryMillis`,
 * until the disk takes writes, which is logged once too. A ballast file (`reserve.bin`, up to
 * 1 MiB, outside the size bound) is given up the moment the disk is full, so the acks of what
 * was delivered always find room (nothing delivered is sent again after a restart); it is
 * written back when the disk has room again. The lock file is rewritten in place (it is never
 * removed), so a restart on a full disk needs no new block.
 */
export class DiskSpool implements Spool {
  readonly durable = true;
  private readonly _dir: string;
  private readonly _max: number;
  private readonly _fs: SpoolFs;
  private readonly _recoveryMillis: number;
  private readonly _ballastBytes: number;
  private readonly _sizes = new Map<number, number>();
  /** Record bytes on disk, plus room reserved by writes under way. */
  private _bytes = 0;
  private _next = 1;
  private readonly _acks: SpoolLog;
  private readonly _sent: SpoolLog;
  private readonly _removals = new Set<Promise<void>>();
  /** Released records not removed yet (under way, or failed: tried again on recovery), and their size. */
  private readonly _removing = new Map<number, number>();
  private _removingBytes = 0;
  /** Removed records whose removal is not yet durable (the directory not synced): their log entries stay. */
  private readonly _unsynced = new Set<number>();
  private _failedRemovals = false;
  private _maintenance: Promise<void> = Promise.resolve();
  private _maintaining = false;
  private _maintenanceWanted = false;
  private _problem: string | undefined;
  /** When an episode was last logged, and the episodes since that were not (a disk flapping). */
  private _loggedAt = -Infinity;
  private _quiet = 0;
  private _recoveryTimer: unknown;
  private readonly _scheduler: Scheduler;
  private _ballast = false;
  private _closed = false;

  constructor(dir: string, maxBytes: number, options: DiskSpoolOptions = {}) {
    this._dir = dir;
    this._max = maxBytes;
    this._fs = options.fs ?? nodeSpoolFs;
    this._recoveryMillis = options.recoveryMillis ?? 1_000;
    this._scheduler = options.scheduler ?? realScheduler;
    this._ballastBytes = Math.min(1024 * 1024, Math.max(64 * 1024, Math.floor(maxBytes / 64)));
    const onError = (what: string) => (e: unknown) => this._fail(what, e);
    this._acks = new SpoolLog(this._fs, dir, 'acks.log', true, (e) => this._ackFailed(e));
    this._sent = new SpoolLog(this._fs, dir, 'sent.log', false, onError('noting sent transactions'));
  }

  /**
   * Creates the directory if needed, takes it (one process per spool: throws if a live process
   * holds it) and reads what a previous run left behind.
   */
  load(): SpoolContents {
    const fs = this._fs;
    fs.mkdirp(this._dir);
    // On a full disk the ballast of an earlier run makes room for a new lock file.
    takeSpoolLock(fs, this._dir, () => this._tryUnlinkSync(BALLAST));
    const records: SpoolContents['records'] = [];
    let discarded = 0;
    const names = fs.list(this._dir).sort();
    this._ballast = names.includes(BALLAST);
    for (const name of names) {
      const m = RECORD.exec(name);
      if (!m) {
        if (name.endsWith('.tmp')) {
          discarded++;
          this._tryUnlinkSync(name);
        }
        continue;
      }
      const id = Number(m[1]);
      const path = join(this._dir, name);
      this._next = Math.max(this._next, id + 1);
      try {
        const spans = parseSpans(fs.read(path));
        const size = fs.size(path);
        this._sizes.set(id, size);
        this._bytes += size;
        records.push({ id, spans });
      } catch {
        discarded++;
        this._tryUnlinkSync(name);
      }
    }
    const live = (id: number): boolean => this._sizes.has(id);
    const acked = this._acks.load(live).keys;
    const { keys: sent, lastRun: sentByLastRun } = this._sent.load(live, true);
    for (const k of acked) {
      sent.delete(k);
      sentByLastRun.delete(k);
    }
    if (!this._ballast) {
      try {
        fs.writeSync(join(this._dir, BALLAST), Buffer.alloc(this._ballastBytes), 'w', true);
        this._ballast = true;
      } catch {
        this._tryUnlinkSync(BALLAST); // a full disk now: written back on recovery
      }
    }
    return { records, acked, sent, sentByLastRun, discarded };
  }

  bytes(): number {
    return this._bytes + this._removingBytes + this._acks.bytes;
  }
  records(): number {
    return this._sizes.size;
  }
  hasRoom(priority?: boolean): boolean {
    return this.bytes() < limitOf(this._max, priority);
  }
  problem(): string | undefined {
    return this._problem;
  }

  /** Gives the directory up (clean shutdown): the lock file stays, holding no pid. */
  unlock(): void {
    releaseSpoolLock(this._fs, this._dir);
  }

  async append(spans: readonly SpanView[], priority?: boolean): Promise<number> {
    if (this._problem !== undefined) throw new SpoolUnavailableError(this._problem);
    const data = spansBytes(spans);
    const limit = limitOf(this._max, priority);
    const used = this.bytes();
    if (used + data.length > limit) throw new SpoolFullError(data.length, used, limit);
    // Reserved before the write: writes under way at once cannot pass the bound together.
    this._bytes += data.length;
    const id = this._next++;
    const path = join(this._dir, recordName(id));
    try {
      await this._fs.write(path, data, 'wx', true);
      await this._fs.syncDir(this._dir);
    } catch (e) {
      this._bytes -= data.length;
      // Never leave a partial record behind (a full disk): it would be replayed if it parsed.
      await this._fs.unlink(path).catch(() => undefined);
      this._fail('writing a record', e);
      throw new SpoolUnavailableError(this._problem ?? String(e), errorCode(e));
    }
    this._sizes.set(id, data.length);
    return id;
  }

  release(id: number): void {
    const size = this._sizes.get(id);
    if (size === undefined) return;
    this._sizes.delete(id);
    this._bytes -= size;
    this._removing.set(id, size);
    this._removingBytes += size;
    this._remove(id);
  }

  ack(keys: readonly string[], recordIds: readonly number[]): Promise<void> {
    return this._acks.append(keys, recordIds);
  }

  sending(keys: readonly string[], recordIds: readonly number[]): void {
    if (this._problem === undefined) this._sent.appendNow(keys, recordIds);
  }

  async settle(): Promise<void> {
    for (;;) {
      const maintenance = this._maintenance;
      await Promise.all([...this._removals]);
      await this._acks.idle();
      await maintenance;
      if (maintenance === this._maintenance && this._removals.size === 0) return;
    }
  }

  async close(): Promise<void> {
    this._closed = true;
    if (this._recoveryTimer !== undefined) this._scheduler.clearTimeout(this._recoveryTimer);
    await this.settle();
    this._kickMaintenance(true);
    await this._maintenance;
    this.unlock();
  }

  private _remove(id: number): void {
    const removed = (): void => {
      const size = this._removing.get(id);
      if (size === undefined) return;
      this._removing.delete(id);
      this._removingBytes -= size;
      this._unsynced.add(id);
      this._kickMaintenance(false);
    };
    const p = this._fs.unlink(join(this._dir, recordName(id))).then(removed, (e: unknown) => {
      if (errorCode(e) === 'ENOENT') return removed();
      this._failedRemovals = true;
      this._fail('removing a delivered record', e);
    });
    this._removals.add(p);
    void p.then(() => this._removals.delete(p));
  }

  /** Acks must land: on a full disk the ballast goes first, then the write is tried again. */
  private _ackFailed(e: unknown): void {
    this._fail('writing the ack log', e);
    if (errorCode(e) === 'ENOSPC' && this._ballast && this._tryUnlinkSync(BALLAST)) {
      this._ballast = false;
      this._acks.retry();
    }
  }

  /**
   * The first failure of an episode is logged (a disk flapping between full and not, as our
   * own deliveries free room, is logged at most once a minute); new records are refused until
   * recovery.
   */
  private _fail(what: string, e: unknown): void {
    if (this._closed) return;
    if (this._problem === undefined) {
      this._problem = `the spool ${this._dir} cannot be written (${errorCode(e)} while ${what})`;
      const now = this._scheduler.now();
      if (now - this._loggedAt >= FLAP_LOG_MS) {
        const again = this._quiet > 0 ? ` (and ${this._quiet} short episode(s) in the last minute)` : '';
        log.error(
          `${this._problem}${again}: new requests get 503 + Retry-After and /readyz says not ready until it can; what is spooled is still delivered`,
        );
        this._loggedAt = now;
        this._quiet = 0;
      } else this._quiet++;
    }
    this._scheduleRecovery();
  }

  private _scheduleRecovery(): void {
    if (this._recoveryTimer !== undefined || this._closed) return;
    this._recoveryTimer = this._scheduler.setTimeout(() => {
      this._recoveryTimer = undefined;
      void this._recover();
    }, this._recoveryMillis);
  }

  /** Healthy again once the ballast can be written back and nothing is left pending. */
  private async _recover(): Promise<void> {
    try {
      if (!this._ballast) await this._writeBallast();
    } catch {
      this._scheduleRecovery();
      return;
    }
    this._failedRemovals = false;
    for (const id of this._removing.keys()) this._remove(id);
    this._acks.retry();
    this._sent.retry();
    await Promise.all([...this._removals]);
    await this._acks.idle();
    if (this._failedRemovals || this._acks.pending > 0) {
      this._scheduleRecovery();
      return;
    }
    if (this._problem !== undefined && this._quiet === 0)
      log.info(`the spool can be written again (was: ${this._problem})`);
    this._problem = undefined;
    this._kickMaintenance(false);
  }

  private async _writeBallast(): Promise<void> {
    const path = join(this._dir, BALLAST);
    try {
      await this._fs.write(path, Buffer.alloc(this._ballastBytes), 'w', true);
      this._ballast = true;
    } catch (e) {
      await this._fs.unlink(path).catch(() => undefined);
      throw e;
    }
  }

  private _tryUnlinkSync(name: string): boolean {
    try {
      this._fs.unlinkSync(join(this._dir, name));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Makes removals durable (the directory synced) and compacts the logs past their threshold:
   * a log entry may outlive its record, never the reverse.
   */
  private _kickMaintenance(force: boolean): void {
    if (this._maintaining) {
      this._maintenanceWanted = true;
      return;
    }
    const anyLeft = this._sizes.size > 0;
    const due =
      force ||
      this._unsynced.size > 4096 ||
      this._acks.wantsCompaction(anyLeft) ||
      this._sent.wantsCompaction(anyLeft);
    if (!due) return;
    this._maintaining = true;
    this._maintenanceWanted = false;
    this._maintenance = this._compact(force).then((ok) => {
      this._maintaining = false;
      // What was asked for while this pass ran (after a failure: at the next removal or recovery).
      if (ok && this._maintenanceWanted) this._kickMaintenance(false);
    });
  }

  private async _compact(force: boolean): Promise<boolean> {
    await this._acks.idle();
    const synced = [...this._unsynced];
    try {
      await this._fs.syncDir(this._dir);
      for (const id of synced) this._unsynced.delete(id);
      const live = (id: number): boolean =>
        this._sizes.has(id) || this._removing.has(id) || this._unsynced.has(id);
      const anyLeft = this._sizes.size > 0;
      if (force || this._acks.wantsCompaction(anyLeft)) await this._acks.compact(live);
      if (force || this._sent.wantsCompaction(anyLeft)) await this._sent.compact(live);
      return true;
    } catch (e) {
      log.debug(`cannot compact the spool logs: ${errorCode(e)}`);
      this._acks.compactLater();
      this._sent.compactLater();
      return false;
    }
  }
}
