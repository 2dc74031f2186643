import { appendFile, mkdir, open, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { diag } from '@opentelemetry/api';
import type { SendOptions, SendResult, TransactionSender } from '../pipeline/sender.js';
import type { PricedTransaction } from '../stage/priced-transaction.js';
import { Ledger } from './ledger.js';
import type { LocalRecord } from './records.js';
import { parseRecordLines, schemaProblem, toLocalRecords } from './records.js';

/**
 * The embedded local sink: an append-only JSON Lines file of transactions, for running
 * without a Fenra account. Every transaction is checked against the wire schema first (the
 * same check Fenra's 400 would make); a batch is one `appendFile`, fsync'ed, so a line is
 * either complete or the torn last line that `parseRecordLines` reports and skips.
 * It keeps a {@link Ledger} of everything in the file for the inspector.
 */
export const TRANSACTIONS_FILE = 'transactions.jsonl';

export interface AppendResult {
  written: number;
  /** Bytes appended to the file. */
  bytes: number;
  /** Transactions refused by the schema, with the reason. */
  invalid: { index: number; problem: string }[];
}

const log = diag.createComponentLogger({ namespace: '@fenra/otel/local-sink' });

export class LocalSink {
  readonly dir: string;
  readonly file: string;
  readonly ledger: Ledger;
  private readonly _fsync: boolean;
  private _tail: Promise<unknown> = Promise.resolve();
  private _opened: Promise<void> | undefined;
  private _madeDir: Promise<void> | undefined;
  private readonly _listeners = new Set<(r: LocalRecord) => void>();
  private _loadProblems: string[] = [];

  constructor(options: { dir: string; fsync?: boolean; ledger?: Ledger }) {
    this.dir = resolve(options.dir);
    this.file = join(this.dir, TRANSACTIONS_FILE);
    this._fsync = options.fsync ?? true;
    this.ledger = options.ledger ?? new Ledger();
  }

  /**
   * Loads what earlier runs wrote into the ledger. Idempotent. The directory is created by the
   * first append, so a run that bills nothing leaves no trace.
   */
  open(): Promise<void> {
    this._opened ??= (async () => {
      let text = '';
      try {
        text = await readFile(this.file, 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
      const parsed = parseRecordLines(text);
      this._loadProblems = parsed.problems;
      if (parsed.problems.length)
        log.warn(`${this.file}: skipped ${parsed.problems.length} unreadable line(s): ${parsed.problems[0]}`);
      this.ledger.addAll(parsed.records);
    })();
    return this._opened;
  }

  /** Lines of the file that were not readable when it was opened. */
  get loadProblems(): readonly string[] {
    return this._loadProblems;
  }

  /** Called for each record once it is on disk. */
  onRecord(listener: (r: LocalRecord) => void): () => void {
    this._listeners.add(listener);
    return () => this._listeners.delete(listener);
  }

  /** Validates and appends priced transactions; appends run one at a time, in call order. */
  append(items: readonly PricedTransaction[], nowMs = Date.now()): Promise<AppendResult> {
    return this._appendRecords(toLocalRecords(items, nowMs));
  }

  private _appendRecords(records: LocalRecord[]): Promise<AppendResult> {
    const run = async (): Promise<AppendResult> => {
      await this.open();
      const invalid: AppendResult['invalid'] = [];
      const good: LocalRecord[] = [];
      let bytes = 0;
      records.forEach((r, index) => {
        const problem = schemaProblem(r.transaction);
        if (problem === undefined) good.push(r);
        else invalid.push({ index, problem });
      });
      if (good.length) {
        // Owner only: records hold customer ids and spend (see SECURITY.md).
        this._madeDir ??= mkdir(this.dir, { recursive: true, mode: 0o700 }).then(() => undefined);
        await this._madeDir.catch((e: unknown) => {
          this._madeDir = undefined; // try again next time
          throw e;
        });
        const text = good.map((r) => JSON.stringify(r)).join('\n') + '\n';
        bytes = Buffer.byteLength(text);
        if (this._fsync) {
          const fh = await open(this.file, 'a');
          try {
            await fh.appendFile(text, 'utf8');
            await fh.sync();
          } finally {
            await fh.close();
          }
        } else await appendFile(this.file, text, 'utf8');
        for (const r of good) {
          this.ledger.add(r);
          for (const l of this._listeners) {
            try {
              l(r);
            } catch (e) {
              log.error(`record listener failed: ${(e as Error).message}`);
            }
          }
        }
      }
      return { written: good.length, bytes, invalid };
    };
    const p = this._tail.then(run, run);
    this._tail = p.catch(() => undefined);
    return p;
  }

  /** Resolves when every append started so far has finished. */
  async settle(): Promise<void> {
    await this._tail;
  }
}

/**
 * The local sink as the delivery pipeline's sender (local mode, `convert --send` without a
 * key): the same pipeline as for Fenra (queue, batches, retries, settlement), writing to the
 * file instead of HTTP. A transaction the wire schema refuses is refused like Fenra's 400 would
 * (a 207 item); a failed write (disk full) is retryable, so the data stays queued meanwhile.
 */
export class LocalSinkSender implements TransactionSender {
  private readonly _sink: LocalSink;
  private readonly _now: () => number;
  private _closed = false;

  constructor(sink: LocalSink, now: () => number = Date.now) {
    this._sink = sink;
    this._now = now;
  }

  async send(items: readonly PricedTransaction[], _options?: SendOptions): Promise<SendResult> {
    if (this._closed) return { outcome: { kind: 'aborted', message: 'local sink closed' }, bytes: 0 };
    try {
      const r = await this._sink.append(items, this._now());
      const bytes = r.bytes;
      if (r.invalid.length === 0) return { outcome: { kind: 'accepted', status: 202 }, bytes };
      const bad = new Map(r.invalid.map((i) => [i.index, i.problem]));
      for (const [, problem] of bad) log.warn(`local sink refused a transaction: ${problem}`);
      return {
        outcome: {
          kind: 'partial',
          status: 207,
          items: items.map((_, i) =>
            bad.has(i) ? { status: 'rejected', message: bad.get(i)! } : { status: 'accepted' },
          ),
        },
        bytes,
      };
    } catch (e) {
      // A disk problem is worth retrying (disk full, a busy network share); nothing was written.
      return {
        outcome: {
          kind: 'retryable',
          reason: 'server_error',
          message: `cannot write ${this._sink.file}: ${(e as Error).message}`,
        },
        bytes: 0,
      };
    }
  }

  async close(): Promise<void> {
    this._closed = true;
    await this._sink.settle();
  }
}
