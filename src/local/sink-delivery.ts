import { diag } from '@opentelemetry/api';
import type { PricedTransaction } from '../stage/priced-transaction.js';
import type { DeliveryStats, Settlement, TransactionDelivery } from '../sidecar/delivery.js';
import type { LocalSink } from './sink.js';

/**
 * The sidecar's delivery stage writing to the local sink instead of Fenra (local mode).
 * Transactions are written in small batches as they come; a valid one is "accepted" once it
 * is on disk, one the schema refuses is "rejected" (`invalid_schema`). A failed write (disk
 * full) keeps the batch queued and retries it, so the spool keeps the data meanwhile.
 */
export interface LocalSinkDeliveryOptions {
  maxQueue: number;
  maxBatch: number;
  /** Wait before retrying a failed write, ms. */
  retryMillis?: number;
}

interface Item {
  tx: PricedTransaction;
  onSettled: (item: PricedTransaction, s: Settlement) => void;
}

const log = diag.createComponentLogger({ namespace: '@fenra/otel/local-sink' });

export class LocalSinkDelivery implements TransactionDelivery {
  private readonly _sink: LocalSink;
  private readonly _o: Required<LocalSinkDeliveryOptions>;
  private readonly _queue: Item[] = [];
  private _writing: Promise<void> | undefined;
  private _timer: NodeJS.Timeout | undefined;
  private _closed = false;
  private readonly _stats = { accepted: 0, rejected: 0, retries: 0, requests: 0 };
  private _inFlight = 0;

  constructor(sink: LocalSink, options: LocalSinkDeliveryOptions) {
    this._sink = sink;
    this._o = { retryMillis: 1_000, ...options };
  }

  send(items: readonly PricedTransaction[], onSettled: Item['onSettled']): boolean {
    if (this._closed || this._queue.length + items.length > this._o.maxQueue) return false;
    for (const tx of items) this._queue.push({ tx, onSettled });
    this._kick();
    return true;
  }

  async forceFlush(deadlineMillis: number): Promise<void> {
    const end = Date.now() + deadlineMillis;
    while ((this._queue.length > 0 || this._writing) && Date.now() < end) {
      this._kick();
      const wait = new Promise<void>((r) => setTimeout(r, Math.min(50, Math.max(1, end - Date.now()))));
      await Promise.race([wait, this._writing ?? wait]);
    }
  }

  async shutdown(): Promise<void> {
    this._closed = true;
    if (this._timer) clearTimeout(this._timer);
    this._timer = undefined;
    await this._writing;
    await this._sink.settle();
  }

  stats(): DeliveryStats {
    return {
      ...this._stats,
      queued: this._queue.length,
      inFlight: this._inFlight,
      keyRejected: false,
    };
  }

  private _kick(): void {
    if (this._writing || this._timer || this._queue.length === 0) return;
    this._writing = this._write().finally(() => {
      this._writing = undefined;
      if (!this._closed && this._queue.length && !this._timer) this._kick();
    });
  }

  private async _write(): Promise<void> {
    const batch = this._queue.splice(0, this._o.maxBatch);
    this._inFlight = batch.length;
    this._stats.requests++;
    try {
      const r = await this._sink.append(batch.map((i) => i.tx));
      const bad = new Map(r.invalid.map((i) => [i.index, i.problem]));
      batch.forEach((item, index) => {
        const problem = bad.get(index);
        if (problem === undefined) this._settle(item, { outcome: 'accepted' });
        else {
          log.warn(`local sink refused a transaction: ${problem}`);
          this._settle(item, { outcome: 'rejected', reason: 'invalid_schema' });
        }
      });
    } catch (e) {
      log.error(`cannot write ${this._sink.file}: ${(e as Error).message}; will retry`);
      this._queue.unshift(...batch);
      this._stats.retries++;
      if (!this._closed) {
        this._timer = setTimeout(() => {
          this._timer = undefined;
          this._kick();
        }, this._o.retryMillis);
        this._timer.unref?.();
      }
    } finally {
      this._inFlight = 0;
    }
  }

  private _settle(item: Item, s: Settlement): void {
    if (s.outcome === 'accepted') this._stats.accepted++;
    else this._stats.rejected++;
    try {
      item.onSettled(item.tx, s);
    } catch (e) {
      log.error(`settlement hook failed: ${(e as Error).message}`);
    }
  }
}
