import { accessSync, constants, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { diag } from '@opentelemetry/api';
import { CONDITIONS } from '../internal/conditions.js';
import { warnProcessOnce } from '../internal/process-warning.js';
import type { LocalDestination } from '../otel/local-destination.js';
import type { SendResult, TransactionSender } from '../pipeline/sender.js';
import type { PricedTransaction } from '../stage/priced-transaction.js';
import { LocalSink, TRANSACTIONS_FILE } from './sink.js';

const log = diag.createComponentLogger({ namespace: '@fenra/otel/local-sink' });

/** Errors that a retry will not fix: the directory cannot be made or written here. */
const PERMANENT = new Set(['EROFS', 'EACCES', 'EPERM', 'ENOTDIR', 'EISDIR', 'EEXIST', 'ENAMETOOLONG']);

/**
 * The local sink as the delivery pipeline's destination in process (a processor or the register
 * entry without an API key: the same embedded default as `serve`), writing the priced
 * transactions so that `fenra-otel report` and the inspector show them. It fails soft: where the
 * file cannot be written (a read-only file system, a directory that cannot be made), it says so
 * once and then writes nothing (each batch refused at once, no further I/O; the runtime stops
 * handing it anything).
 */
/**
 * Why `dir` cannot hold the local sink (an error code), found without writing anything: the
 * nearest part of the path that exists must be a directory this process may write to (a
 * read-only file system answers EROFS). Undefined when it can.
 */
export function unwritableDir(dir: string): string | undefined {
  let p = resolve(dir);
  for (;;) {
    try {
      if (!statSync(p).isDirectory()) return 'ENOTDIR';
      accessSync(p, constants.W_OK);
      return undefined;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'EACCES';
      if (code !== 'ENOENT') return code;
    }
    const up = dirname(p);
    if (up === p) return 'ENOENT';
    p = up;
  }
}

export class InProcessSinkSender implements TransactionSender {
  readonly sink: LocalSink;
  private _unwritable: string | undefined;
  private _closed = false;

  constructor(dir: string) {
    this.sink = new LocalSink({ dir });
  }

  /** Why the sink cannot be written, once that is known. */
  get unwritable(): string | undefined {
    return this._unwritable;
  }

  send(items: readonly PricedTransaction[]): Promise<SendResult> {
    return this._write(() => this.sink.append(items), items.length);
  }

  private async _write(
    append: () => Promise<{ written: number; invalid: { index: number; problem: string }[] }>,
    count: number,
  ): Promise<SendResult> {
    if (this._closed) return { outcome: { kind: 'aborted', message: 'local sink closed' }, bytes: 0 };
    if (this._unwritable !== undefined)
      return { outcome: { kind: 'failed', message: this._unwritable }, bytes: 0 };
    try {
      const r = await append();
      if (r.invalid.length === 0) return { outcome: { kind: 'accepted', status: 202 }, bytes: 0 };
      const bad = new Map(r.invalid.map((i) => [i.index, i.problem]));
      return {
        outcome: {
          kind: 'partial',
          status: 207,
          items: Array.from({ length: count }, (_, i) =>
            bad.has(i) ? { status: 'rejected', message: bad.get(i)! } : { status: 'accepted' },
          ),
        },
        bytes: 0,
      };
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code !== undefined && PERMANENT.has(err.code)) {
        this._unwritable = `${this.sink.file} cannot be written (${err.code})`;
        const text = `Local sink: ${CONDITIONS.localSinkUnwritable(this.sink.file, err.code)}`;
        log.warn(text);
        warnProcessOnce('FENRA_LOCAL_SINK_UNWRITABLE', `@fenra/otel: ${text}`);
        return { outcome: { kind: 'failed', message: this._unwritable }, bytes: 0 };
      }
      // A disk that may recover (full, busy): worth another try.
      return {
        outcome: {
          kind: 'retryable',
          reason: 'server_error',
          message: `local sink: ${err.message}`,
          cause: err.code ?? 'error',
        },
        bytes: 0,
      };
    }
  }

  async close(): Promise<void> {
    this._closed = true;
    await this.sink.settle().catch(() => undefined);
  }
}

/**
 * The in-process runtime's local destination for `dataDir` (see src/otel/local-destination.ts):
 * the sink, or why its directory cannot be written.
 */
export function inProcessDestination(dataDir: string): LocalDestination {
  const code = unwritableDir(dataDir);
  if (code !== undefined) return { file: join(resolve(dataDir), TRANSACTIONS_FILE), unwritable: code };
  const sender = new InProcessSinkSender(dataDir);
  return { file: sender.sink.file, sender };
}
