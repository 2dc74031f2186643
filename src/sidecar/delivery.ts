import { diag } from '@opentelemetry/api';
import { FenraClient } from '../fenra/client.js';
import type { PricedTransaction } from '../genai/priced-transaction.js';

/**
 * What the sidecar needs from the export pipeline: take transactions, and say for each one,
 * exactly once, whether Fenra accepted it or refused it for good. Anything else (a retryable
 * failure, an outage, a rejected key) keeps it queued; at shutdown it simply stays unsettled,
 * and the spool replays it on the next start.
 *
 * `FenraDelivery` below is a minimal queue + retry loop over the shared `FenraClient`, written
 * for the sidecar while the shared delivery pipeline (src/pipeline) was not yet available; it
 * can be replaced by an adapter over that pipeline's `enqueue` + `onSettled` without touching
 * the rest.
 */
export type Settlement = { outcome: 'accepted' } | { outcome: 'rejected'; reason: string };

export interface DeliveryStats {
  queued: number;
  inFlight: number;
  accepted: number;
  rejected: number;
  retries: number;
  requests: number;
  /** True while Fenra answers 401 (the key is missing, wrong or revoked). */
  keyRejected: boolean;
}

export interface TransactionDelivery {
  /** Takes the transactions, or returns false (taking none) when the queue has no room. */
  send(
    items: readonly PricedTransaction[],
    onSettled: (item: PricedTransaction, s: Settlement) => void,
  ): boolean;
  /** Tries to deliver everything queued within the deadline; never rejects. */
  forceFlush(deadlineMillis: number): Promise<void>;
  /** Stops timers and aborts requests in flight (their transactions stay unsettled). */
  shutdown(): Promise<void>;
  stats(): DeliveryStats;
}

export interface FenraDeliveryOptions {
  endpoint: string;
  apiKey: string | undefined;
  maxQueue: number;
  maxBatch: number;
  flushIntervalMillis: number;
  timeoutMillis: number;
  concurrency: number;
  /** Backoff bounds for retryable failures, ms. */
  retryInitialMillis?: number;
  retryMaxMillis?: number;
}

interface Item {
  tx: PricedTransaction;
  onSettled: (item: PricedTransaction, s: Settlement) => void;
}

const log = diag.createComponentLogger({ namespace: '@fenra/otel/sidecar-delivery' });

export class FenraDelivery implements TransactionDelivery {
  private readonly _o: Required<FenraDeliveryOptions>;
  private readonly _queue: Item[] = [];
  private _inFlight = 0;
  private readonly _active = new Set<Promise<void>>();
  private _timer: NodeJS.Timeout | undefined;
  private _retryAt = 0;
  private _attempt = 0;
  private _closed = false;
  private readonly _abort = new AbortController();
  private readonly _stats = { accepted: 0, rejected: 0, retries: 0, requests: 0 };
  private _keyRejected = false;
  private _failing = false;
  private readonly _client: FenraClient;

  constructor(options: FenraDeliveryOptions) {
    this._o = { retryInitialMillis: 500, retryMaxMillis: 30_000, ...options };
    this._client = new FenraClient({
      endpoint: options.endpoint,
      apiKey: options.apiKey ?? '',
      connections: options.concurrency,
    });
  }

  send(items: readonly PricedTransaction[], onSettled: Item['onSettled']): boolean {
    if (this._closed || this._queue.length + items.length > this._o.maxQueue) return false;
    for (const tx of items) this._queue.push({ tx, onSettled });
    this._schedule(this._queue.length >= this._o.maxBatch ? 0 : this._o.flushIntervalMillis);
    return true;
  }

  async forceFlush(deadlineMillis: number): Promise<void> {
    const end = Date.now() + deadlineMillis;
    while ((this._queue.length > 0 || this._inFlight > 0) && Date.now() < end) {
      if (this._retryAt > end) break;
      this._pump();
      const wait = new Promise<void>((r) => setTimeout(r, 20));
      await Promise.race([wait, ...this._active]);
    }
  }

  async shutdown(): Promise<void> {
    this._closed = true;
    if (this._timer) clearTimeout(this._timer);
    this._abort.abort();
    await Promise.allSettled([...this._active]);
    await this._client.close();
  }

  stats(): DeliveryStats {
    return {
      ...this._stats,
      queued: this._queue.length,
      inFlight: this._inFlight,
      keyRejected: this._keyRejected,
    };
  }

  private _schedule(delay: number): void {
    if (this._closed) return;
    const at = Math.max(delay, this._retryAt - Date.now(), 0);
    if (this._timer) {
      if (at > 0) return; // the pending timer fires soon enough
      clearTimeout(this._timer);
    }
    this._timer = setTimeout(() => {
      this._timer = undefined;
      this._pump();
    }, at);
    this._timer.unref?.();
  }

  private _pump(): void {
    if (this._closed || Date.now() < this._retryAt) {
      if (this._queue.length) this._schedule(0);
      return;
    }
    while (this._queue.length > 0 && this._inFlight < this._o.concurrency) {
      const batch = this._queue.splice(0, this._o.maxBatch);
      this._inFlight++;
      const p = this._post(batch).finally(() => {
        this._inFlight--;
        this._active.delete(p);
        if (this._queue.length)
          this._schedule(this._queue.length >= this._o.maxBatch ? 0 : this._o.flushIntervalMillis);
      });
      this._active.add(p);
    }
  }

  private _requeue(batch: Item[], retryAfterMillis: number | undefined): void {
    this._queue.unshift(...batch);
    this._stats.retries++;
    const backoff = Math.min(this._o.retryInitialMillis * 1.5 ** this._attempt, this._o.retryMaxMillis);
    this._attempt++;
    const delay = Math.max(backoff * (0.8 + Math.random() * 0.4), retryAfterMillis ?? 0);
    this._retryAt = Date.now() + delay;
    this._schedule(delay);
  }

  private async _post(batch: Item[]): Promise<void> {
    this._stats.requests++;
    const { outcome } = await this._client.send(
      batch.map((i) => i.tx.transaction),
      { timeoutMs: this._o.timeoutMillis, signal: this._abort.signal },
    );
    if (this._closed && outcome.kind !== 'accepted' && outcome.kind !== 'partial') {
      this._queue.unshift(...batch);
      return;
    }
    switch (outcome.kind) {
      case 'accepted':
        this._healthy();
        for (const i of batch) this._settle(i, { outcome: 'accepted' });
        return;
      case 'partial': {
        this._healthy();
        const retry: Item[] = [];
        batch.forEach((item, index) => {
          const o = outcome.items[index];
          if (o?.status === 'accepted') this._settle(item, { outcome: 'accepted' });
          else if (o?.status === 'rejected')
            this._settle(item, { outcome: 'rejected', reason: 'partial_rejected' });
          else retry.push(item);
        });
        if (retry.length) this._requeue(retry, outcome.retryAfterMs);
        return;
      }
      case 'unauthorized':
        if (!this._keyRejected) {
          log.error(
            `Fenra rejected the API key (HTTP ${outcome.status}); keeping transactions and retrying slowly`,
          );
        }
        this._keyRejected = true;
        this._requeue(batch, this._o.retryMaxMillis);
        return;
      case 'retryable':
        // One warning per outage; the attempts after it only at debug level.
        if (this._failing) log.debug(`Fenra request failed again (${outcome.message}); will retry`);
        else log.warn(`Fenra request failed (${outcome.message}); will retry with backoff`);
        this._failing = true;
        this._requeue(batch, outcome.retryAfterMs);
        return;
      case 'rejected':
      case 'failed':
        this._healthy();
        log.warn(
          `Fenra refused ${batch.length} transaction(s) (HTTP ${outcome.status ?? '-'}): ${outcome.message}`,
        );
        for (const i of batch)
          this._settle(i, { outcome: 'rejected', reason: `http_${outcome.status ?? 'error'}` });
        return;
    }
  }

  private _healthy(): void {
    if (this._failing)
      log.info(`Fenra is reachable again after ${this._stats.retries} retried request(s) in total`);
    this._failing = false;
    this._keyRejected = false;
    this._attempt = 0;
    this._retryAt = 0;
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
