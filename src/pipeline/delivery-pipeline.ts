import { diag } from '@opentelemetry/api';
import type { Dispatcher } from 'undici';
import type { TransactionSender } from '../fenra/client.js';
import { FenraClient } from '../fenra/client.js';
import { renderTransaction } from '../fenra/render-transaction.js';
import type { SendOutcome } from '../fenra/response.js';
import type { RetryPolicy } from '../fenra/retry-policy.js';
import { DEFAULT_RETRY_POLICY, planRetry } from '../fenra/retry-policy.js';
import type { PricedTransaction } from '../stage/priced-transaction.js';
import { boundedKey } from '../internal/meter-binding.js';
import type { FenraWarningCode } from '../internal/process-warning.js';
import { firstInProcess, warnProcessOnce } from '../internal/process-warning.js';
import { RateLimitedReport } from '../internal/rate-limited.js';
import { errorText, safely } from '../internal/safe.js';
import type { Sleep } from '../internal/sleep.js';
import { KeepAlive } from '../internal/timers.js';
import { BoundedQueue } from './bounded-queue.js';
import type { DeliveryConfig } from './delivery-config.js';
import type { DropReason, FailReason, PipelineState, PipelineStats } from './stats.js';
import { emptyStats, PipelineMetrics } from './stats.js';

const log = diag.createComponentLogger({ namespace: '@fenra/otel/delivery' });

/** How a group of transactions ended. Every enqueued transaction is settled exactly once. */
export type Settlement =
  /** Fenra queued them: a durable spool may delete them. */
  | { kind: 'accepted' }
  /** Fenra refused them for good (400 isolated to them, a non-retryable 207 item, another 4xx). */
  | { kind: 'failed'; reason: FailReason; message: string }
  /** Never delivered (queue full, shutdown, retries exhausted at shutdown, disabled): a spool should keep them. */
  | { kind: 'dropped'; reason: DropReason };

export interface DeliveryPipelineDeps {
  /** Transport; default a {@link FenraClient} for `config.endpoint`. */
  sender?: TransactionSender;
  /** undici dispatcher for the default client (not closed by shutdown). */
  dispatcher?: Dispatcher;
  /** Clock, epoch ms. */
  now?: () => number;
  /**
   * Backoff and probe waits; must resolve early when the signal aborts. Default: timers that
   * keep the process alive only while a flush, shutdown or export wait is awaited.
   */
  sleep?: Sleep;
  /** The timers' keep-alive (shared with the owner's own waits). Default: the pipeline's own. */
  keepAlive?: KeepAlive;
  /**
   * Also emit the one-time configuration and health messages (no key, key or endpoint
   * refused, queue full) as Node process warnings, visible without a diag logger. Default
   * false (the sidecar and the CLI report through their own logs).
   */
  processWarnings?: boolean;
  random?: () => number;
  retryPolicy?: RetryPolicy;
  /** Wait between key probes while unauthorized, ms. Default 60000. */
  unauthorizedProbeMillis?: number;
  /** Bound of `forceFlush()` and of the flush inside `shutdown()`, ms. Default `exportTimeoutMillis` + 1000. */
  flushTimeoutMillis?: number;
  /** Called once per settled group (see {@link Settlement}); errors are caught and logged. */
  onSettled?: (items: readonly PricedTransaction[], outcome: Settlement) => void;
}

/** Interval between repeated warnings of one kind, ms. */
const REPORT_INTERVAL_MS = 60_000;
/** How long shutdown waits for aborted requests and the agent to close, ms. */
const CLOSE_WAIT_MS = 2_000;
/**
 * Longest pause after a batch used its retry budget, ms: a server asking for more (a huge
 * `Retry-After`) is honoured up to this, then the queue is tried again.
 */
export const MAX_PAUSE_MS = 5 * 60_000;

/** The states in which sending is paused for a configuration error and probed now and then. */
type BlockedState = 'unauthorized' | 'endpoint_rejected';

/** An export waiting for its transactions (see {@link DeliveryPipeline.enqueueAndWait}). */
interface ItemWaiter {
  left: number;
}

/**
 * The bounded queue, batcher and delivery loop between the converter and Fenra. `enqueue` is
 * synchronous and never throws; batches leave when `maxExportBatchSize` is reached or
 * `scheduledDelayMillis` has passed, at most `concurrencyLimit` at a time. Each batch is
 * retried within `exportTimeoutMillis`; when that budget runs out it goes back to the front
 * of the queue (and the pipeline pauses), or is dropped and counted during shutdown.
 * When the queue is full, new transactions are dropped (the oldest are kept, as OTel's
 * BatchSpanProcessor does) and counted.
 */
export class DeliveryPipeline {
  private readonly _config: DeliveryConfig;
  private readonly _sender: TransactionSender | undefined;
  private readonly _now: () => number;
  private readonly _sleep: Sleep;
  private readonly _random: () => number;
  private readonly _policy: RetryPolicy;
  private readonly _probeMillis: number;
  private readonly _flushMillis: number;
  private readonly _onSettled: DeliveryPipelineDeps['onSettled'];
  private readonly _keepAlive: KeepAlive;
  private readonly _processWarnings: boolean;
  private readonly _usdByModel = new Map<string, { provider: string; model: string; usd: number }>();
  /** Transactions an export waits for, and its waiter (empty unless an export waits). */
  private readonly _itemWaiters = new Map<PricedTransaction, ItemWaiter>();
  private readonly _queue: BoundedQueue<PricedTransaction>;
  private readonly _stats: PipelineStats;
  private readonly _metrics: PipelineMetrics;
  private readonly _abort = new AbortController();
  private readonly _disabledReason: DropReason | undefined;
  private readonly _queueFull: RateLimitedReport;
  private readonly _rejections: RateLimitedReport;
  private readonly _giveUps: RateLimitedReport;
  private _lastRejection = '';
  private _lastGiveUp = '';

  private _state: PipelineState;
  private _inFlightBatches = 0;
  private readonly _deliveries = new Set<Promise<void>>();
  private _timer: ReturnType<typeof setTimeout> | undefined;
  private _due = false;
  private _flushing = 0;
  private _pumpScheduled = false;
  private _paused = false;
  private _probeScheduled = false;
  private _closing = false;
  private _shutdown: Promise<void> | undefined;
  private _waiters: (() => void)[] = [];

  constructor(config: DeliveryConfig, deps: DeliveryPipelineDeps = {}) {
    this._config = config;
    this._now = deps.now ?? Date.now;
    this._keepAlive = deps.keepAlive ?? new KeepAlive();
    this._processWarnings = deps.processWarnings === true;
    this._sleep = deps.sleep ?? this._keepAlive.sleep;
    this._random = deps.random ?? Math.random;
    this._policy = deps.retryPolicy ?? DEFAULT_RETRY_POLICY;
    this._probeMillis = deps.unauthorizedProbeMillis ?? 60_000;
    this._flushMillis = deps.flushTimeoutMillis ?? config.exportTimeoutMillis + 1_000;
    this._onSettled = deps.onSettled;
    this._queue = new BoundedQueue(config.maxQueueSize);

    if (config.disabled) {
      this._disabledReason = 'disabled';
      log.debug(`export disabled by ${config.disabledBy ?? 'option'}`);
    } else if (config.apiKey === undefined) {
      this._disabledReason = 'no_api_key';
      const message = `No Fenra API key: set ${config.settingNames.apiKey}. Usage transactions will not be sent; the application is not affected.`;
      // Once per process, however many processors or exporters were made.
      if (firstInProcess('diag:no_api_key')) log.warn(message);
      this._warnProcess('FENRA_NO_API_KEY', message);
    }
    this._state = this._disabledReason === undefined ? 'running' : 'disabled';
    this._stats = emptyStats(this._state);
    this._sender =
      this._disabledReason !== undefined
        ? undefined
        : (deps.sender ??
          new FenraClient({
            endpoint: config.endpoint,
            apiKey: config.apiKey as string,
            connections: config.concurrencyLimit,
            now: this._now,
            ...(deps.dispatcher === undefined ? {} : { dispatcher: deps.dispatcher }),
          }));
    this._metrics = new PipelineMetrics(
      this._disabledReason === undefined ? config.meterProvider : null,
      () => ({ stats: this.stats(), usdByModel: this._usdByModel }),
    );

    this._queueFull = new RateLimitedReport(REPORT_INTERVAL_MS, this._now, (n) => {
      const message = `Dropped ${n} transaction(s): export queue full at ${config.maxQueueSize} transactions, the bound set by ${config.settingNames.maxQueueSize}; Fenra is slow, unreachable or refusing the key`;
      log.warn(message);
      this._warnProcess(
        'FENRA_QUEUE_FULL',
        `${message}. Further drops are counted in stats() and reported through OpenTelemetry diag.`,
      );
    });
    this._rejections = new RateLimitedReport(REPORT_INTERVAL_MS, this._now, (n) =>
      log.error(`Fenra refused ${n} transaction(s) for good; last reason: ${this._lastRejection}`),
    );
    this._giveUps = new RateLimitedReport(REPORT_INTERVAL_MS, this._now, (n) =>
      log.warn(
        `Could not deliver ${n} batch(es) within ${config.exportTimeoutMillis} ms, the budget set by ${config.settingNames.exportTimeoutMillis}; last error: ${this._lastGiveUp}`,
      ),
    );
  }

  get state(): PipelineState {
    return this._state;
  }

  /** Queues transactions for delivery. Synchronous, bounded, never throws. */
  enqueue(items: readonly PricedTransaction[]): void {
    try {
      if (items.length === 0) return;
      if (this._disabledReason !== undefined) return this._drop(items, this._disabledReason);
      if (this._closing) return this._drop(items, 'shutdown');
      let overflow: PricedTransaction[] | undefined;
      let taken = 0;
      for (const item of items) {
        if (this._queue.push(item)) taken++;
        else (overflow ??= []).push(item);
      }
      this._stats.enqueued += taken;
      if (overflow !== undefined) {
        this._drop(overflow, 'queue_full');
        this._queueFull.note(overflow.length);
      }
      this._schedulePump();
    } catch (e) {
      log.error(`internal error while queueing: ${errorText(e)}`);
    }
  }

  /**
   * Queues `items` and sends them at once (no scheduled delay); resolves when Fenra has
   * answered for each of them (accepted, refused, or counted as dropped), when sending is
   * paused (refused key or endpoint, retry budget used up: they stay queued), or after
   * `timeoutMs` (default `exportTimeoutMillis`). While it waits, its timers keep the process
   * alive. For an exporter whose caller waits for the export result. Never rejects.
   */
  enqueueAndWait(
    items: readonly PricedTransaction[],
    timeoutMs = this._config.exportTimeoutMillis,
  ): Promise<void> {
    try {
      if (items.length === 0) return Promise.resolve();
      const waiter: ItemWaiter = { left: 0 };
      if (this._disabledReason === undefined && !this._closing) {
        for (const item of items) {
          if (this._itemWaiters.has(item)) continue;
          this._itemWaiters.set(item, waiter);
          waiter.left++;
        }
      }
      this.enqueue(items); // what is dropped at once settles (and leaves the waiter) here
      if (waiter.left === 0) return Promise.resolve();
      return this._keepAlive
        .hold(() => this._waitUntil(() => waiter.left === 0 || !this._canSend(), timeoutMs))
        .then(
          () => undefined,
          (e: unknown) => log.error(`internal error while waiting for delivery: ${errorText(e)}`),
        )
        .finally(() => {
          if (waiter.left === 0) return;
          for (const item of items)
            if (this._itemWaiters.get(item) === waiter) this._itemWaiters.delete(item);
        });
    } catch (e) {
      log.error(`internal error while queueing: ${errorText(e)}`);
      return Promise.resolve();
    }
  }

  /**
   * Sends everything queued; resolves when Fenra has answered for it, or after `timeoutMs`
   * (default: the flush limit). While it runs, the process is kept alive by the timers it
   * depends on (retry waits). Never rejects.
   */
  /**
   * Moves the self-metrics to the global MeterProvider if it changed since (an SDK registers it
   * after our constructor ran). A global lookup: called per batch and at flush, not per item.
   */
  refreshMetrics(): void {
    this._metrics.refresh();
  }

  forceFlush(timeoutMs = this._flushMillis): Promise<void> {
    if (this._shutdown !== undefined) return this._shutdown;
    this._metrics.refresh();
    return this._keepAlive
      .hold(() => this._flush(timeoutMs))
      .catch((e: unknown) => {
        log.error(`internal error while flushing: ${errorText(e)}`);
      });
  }

  /** Flushes, then stops: aborts backoffs, drops (and counts) what is left, closes connections. Once only. */
  shutdown(): Promise<void> {
    this._shutdown ??= this._keepAlive
      .hold(() => this._doShutdown())
      .catch((e: unknown) => {
        log.error(`internal error during shutdown: ${errorText(e)}`);
      });
    return this._shutdown;
  }

  /** The flush limit, ms: the bound of `forceFlush()` and of the flush inside `shutdown()`. */
  get flushTimeoutMillis(): number {
    return this._flushMillis;
  }

  /** Free places in the queue: lets a caller (the sidecar) push back before dropping. */
  spaceLeft(): number {
    return this._disabledReason !== undefined || this._closing
      ? 0
      : this._queue.capacity - this._queue.length;
  }

  stats(): PipelineStats {
    return {
      ...this._stats,
      failed: { ...this._stats.failed },
      dropped: { ...this._stats.dropped },
      state: this._state,
      queueDepth: this._queue.length,
    };
  }

  // ---- batching -------------------------------------------------------------------------

  private _schedulePump(): void {
    if (this._pumpScheduled) return;
    this._pumpScheduled = true;
    // Serialising a batch happens off the caller's stack.
    queueMicrotask(() => {
      this._pumpScheduled = false;
      this._pump();
    });
  }

  private _pump(): void {
    if (this._state !== 'running' || this._shutdownDone()) return;
    if (this._paused) return;
    const { maxExportBatchSize, concurrencyLimit } = this._config;
    while (
      this._inFlightBatches < concurrencyLimit &&
      this._queue.length > 0 &&
      (this._queue.length >= maxExportBatchSize || this._due || this._flushing > 0)
    ) {
      this._startDelivery(this._queue.take(maxExportBatchSize), false);
    }
    if (this._queue.length === 0) this._due = false;
    if (this._queue.length > 0 && !this._due && this._timer === undefined) {
      this._timer = this._keepAlive.setTimeout(() => {
        this._timer = undefined;
        this._due = true;
        this._pump();
      }, this._config.scheduledDelayMillis);
    }
  }

  private _shutdownDone(): boolean {
    return this._abort.signal.aborted;
  }

  private _startDelivery(batch: PricedTransaction[], probe: boolean): void {
    this._inFlightBatches++;
    const deadline = this._now() + this._config.exportTimeoutMillis;
    const p = this._deliver(batch, deadline)
      .catch((e: unknown) => {
        log.error(`internal error while delivering: ${errorText(e)}`);
        this._drop(
          batch.filter((i) => !this._settled.has(i)),
          'retries_exhausted',
        );
      })
      .finally(() => {
        this._inFlightBatches--;
        this._deliveries.delete(p);
        if (probe && this._blocked()) this._scheduleProbe();
        this._schedulePump();
        this._notify();
      });
    this._deliveries.add(p);
  }

  // ---- delivery -------------------------------------------------------------------------

  /** Items already settled (only consulted after an internal error). */
  private readonly _settled = new WeakSet<PricedTransaction>();

  private async _deliver(items: PricedTransaction[], deadline: number): Promise<void> {
    let pending = items;
    for (let attempt = 0; ; attempt++) {
      if (this._shutdownDone()) return this._drop(pending, 'shutdown');
      const remaining = deadline - this._now();
      if (remaining <= 0) return this._giveUp(pending, 'no time left for another attempt', undefined);

      const outcome = await this._send(pending, Math.min(this._config.requestTimeoutMillis, remaining));
      let retryAfterMs: number | undefined;
      let why = '';
      switch (outcome.kind) {
        case 'accepted':
          this._accept(pending);
          if (this._blocked()) this._recover();
          return;
        case 'partial': {
          if (this._blocked()) this._recover();
          const retry: PricedTransaction[] = [];
          const accepted: PricedTransaction[] = [];
          outcome.items.forEach((r, i) => {
            const item = pending[i] as PricedTransaction;
            if (r.status === 'accepted') accepted.push(item);
            else if (r.status === 'retryable') retry.push(item);
            else this._fail([item], 'rejected', r.message);
          });
          this._accept(accepted);
          if (retry.length === 0) return;
          pending = retry;
          retryAfterMs = outcome.retryAfterMs;
          why = `207 with ${retry.length} retryable failure(s)`;
          break;
        }
        case 'rejected':
          if (this._blocked()) this._recover();
          if (pending.length === 1) return this._fail(pending, 'rejected', outcome.message);
          // A server rule (or the size limit: 413) refused something in the batch: split it to
          // find the culprits.
          {
            const half = Math.ceil(pending.length / 2);
            const left = pending.slice(0, half);
            const right = pending.slice(half);
            await this._deliver(left, deadline);
            await this._deliver(right, deadline);
          }
          return;
        case 'unauthorized':
          return this._block('unauthorized', pending, outcome.status, outcome.message);
        case 'misconfigured':
          return this._block('endpoint_rejected', pending, outcome.status, outcome.message);
        case 'failed':
          return this._fail(pending, 'http_error', outcome.message);
        case 'aborted':
          return this._drop(pending, 'shutdown');
        case 'retryable':
          retryAfterMs = outcome.retryAfterMs;
          why = outcome.message;
          break;
      }

      const plan = planRetry(attempt, this._policy, this._now(), deadline, retryAfterMs, this._random);
      if (!plan.retry) return this._giveUp(pending, why, retryAfterMs);
      log.verbose(`retrying ${pending.length} transaction(s) in ${plan.delayMs} ms: ${why}`);
      this._stats.retries++;
      await this._sleep(plan.delayMs, this._abort.signal);
    }
  }

  private async _send(items: readonly PricedTransaction[], timeoutMs: number): Promise<SendOutcome> {
    const sender = this._sender as TransactionSender;
    this._stats.requests++;
    this._stats.sent += items.length;
    this._stats.inFlight += items.length;
    try {
      const { outcome, bytes } = await sender.send(items.map(renderTransaction), {
        timeoutMs,
        signal: this._abort.signal,
      });
      this._stats.bytes += bytes;
      return outcome;
    } finally {
      this._stats.inFlight -= items.length;
    }
  }

  /** The retry budget ran out: back to the queue front and pause, or (shutting down) drop. */
  private _giveUp(items: PricedTransaction[], why: string, retryAfterMs: number | undefined): void {
    this._lastGiveUp = why;
    this._giveUps.note();
    if (this._closing || this._shutdownDone()) return this._drop(items, 'retries_exhausted');
    this._stats.requeued++;
    this._requeue(items);
    // Never sooner than the server asked, but never longer than MAX_PAUSE_MS (a huge
    // Retry-After must not park the queue for days, nor overflow a timer).
    this._pause(Math.min(Math.max(retryAfterMs ?? 0, this._policy.maxMillis), MAX_PAUSE_MS));
  }

  private _requeue(items: readonly PricedTransaction[]): void {
    const evicted = this._queue.unshift(items);
    if (evicted.length > 0) {
      this._drop(evicted, 'queue_full');
      this._queueFull.note(evicted.length);
    }
  }

  /** Holds new batches back for `ms` after a batch gave up, so a dead endpoint is not hammered. */
  private _pause(ms: number): void {
    if (this._paused) return;
    this._paused = true;
    void this._sleep(ms, this._abort.signal).then(() => {
      this._paused = false;
      this._schedulePump();
      this._notify();
    });
  }

  // ---- 401 / 403, wrong endpoint -------------------------------------------------------

  private _blocked(): boolean {
    return this._state === 'unauthorized' || this._state === 'endpoint_rejected';
  }

  /** Whether queued transactions can leave now (not paused, not blocked, not shut down). */
  private _canSend(): boolean {
    return this._state === 'running' && !this._paused && !this._shutdownDone();
  }

  /**
   * A configuration error answered by Fenra (refused key, wrong endpoint): keep the data
   * (bounded by the queue), stop sending, say so once, and probe with one request now and then.
   */
  private _block(state: BlockedState, items: PricedTransaction[], status: number, message: string): void {
    this._requeue(items);
    if (this._state !== state) {
      this._setState(state);
      const { code, text } = this._blockedMessage(state, status, message);
      log.error(text);
      this._warnProcess(code, text);
      this._scheduleProbe();
    }
    this._notify();
  }

  private _blockedMessage(
    state: BlockedState,
    status: number,
    message: string,
  ): { code: FenraWarningCode; text: string } {
    const kept = `Sending is paused; up to ${this._config.maxQueueSize} transactions are kept in memory meanwhile (newer ones beyond that are dropped and counted), and one request probes Fenra every ${Math.round(this._probeMillis / 1000)} s.`;
    if (state === 'unauthorized') {
      return {
        code: 'FENRA_API_KEY_REJECTED',
        text: `Fenra rejected the API key (HTTP ${status}: ${message}). ${kept} The key is read once, at startup: if the key itself is wrong, fix ${this._config.settingNames.apiKey} and restart; if the key is re-enabled in Fenra, sending resumes by itself at the next probe.`,
      };
    }
    return {
      code: 'FENRA_ENDPOINT_REJECTED',
      text: `Fenra endpoint ${displayUrl(this._config.endpoint)} answered HTTP ${status} (${message}): it is not Fenra's usage-transactions URL. ${kept} The endpoint is read once, at startup: fix ${this._config.settingNames.endpoint} and restart; if the server starts accepting at that URL, sending resumes by itself at the next probe.`,
    };
  }

  private _scheduleProbe(): void {
    if (this._probeScheduled || this._shutdownDone()) return;
    this._probeScheduled = true;
    void this._sleep(this._probeMillis, this._abort.signal).then(() => {
      this._probeScheduled = false;
      if (!this._blocked() || this._shutdownDone()) return;
      const batch = this._queue.take(this._config.maxExportBatchSize);
      if (batch.length === 0) {
        this._scheduleProbe();
        return;
      }
      this._startDelivery(batch, true);
    });
  }

  private _recover(): void {
    const was = this._state;
    this._setState('running');
    log.info(
      was === 'unauthorized'
        ? 'Fenra accepted the API key; sending resumes'
        : 'Fenra endpoint answered; sending resumes',
    );
    this._schedulePump();
  }

  private _warnProcess(code: FenraWarningCode, message: string): void {
    if (this._processWarnings) warnProcessOnce(code, message);
  }

  private _setState(state: PipelineState): void {
    this._state = state;
    this._stats.state = state;
  }

  // ---- settlement -----------------------------------------------------------------------

  private _accept(items: readonly PricedTransaction[]): void {
    if (items.length === 0) return;
    this._stats.accepted += items.length;
    for (const item of items) {
      const usd = item.price.usd;
      if (usd === null) this._stats.unpriced++;
      else {
        this._stats.estimatedUsd += usd;
        this._addUsd(item.provider, item.model, usd);
      }
    }
    this._settle(items, { kind: 'accepted' });
  }

  private _fail(items: readonly PricedTransaction[], reason: FailReason, message: string): void {
    if (items.length === 0) return;
    this._stats.failed[reason] += items.length;
    this._lastRejection = message;
    this._rejections.note(items.length);
    this._settle(items, { kind: 'failed', reason, message });
  }

  private _drop(items: readonly PricedTransaction[], reason: DropReason): void {
    if (items.length === 0) return;
    this._stats.dropped[reason] += items.length;
    this._settle(items, { kind: 'dropped', reason });
  }

  /** Per provider/model for the metrics, at most 200 pairs (the rest under `other`). */
  private _addUsd(provider: string, model: string, usd: number): void {
    const key = boundedKey(this._usdByModel, `${provider}/${model}`);
    const entry = this._usdByModel.get(key);
    if (entry !== undefined) entry.usd += usd;
    else
      this._usdByModel.set(
        key,
        key === 'other' ? { provider: 'other', model: 'other', usd } : { provider, model, usd },
      );
  }

  private _settle(items: readonly PricedTransaction[], outcome: Settlement): void {
    for (const i of items) this._settled.add(i);
    if (this._itemWaiters.size > 0) this._releaseWaiters(items);
    const cb = this._onSettled;
    if (cb === undefined) return;
    safely(
      () => cb(items, outcome),
      (e) => log.error(`onSettled callback threw: ${errorText(e)}`),
      undefined,
    );
  }

  private _releaseWaiters(items: readonly PricedTransaction[]): void {
    let released = false;
    for (const item of items) {
      const w = this._itemWaiters.get(item);
      if (w === undefined) continue;
      this._itemWaiters.delete(item);
      if (--w.left === 0) released = true;
    }
    if (released) this._notify();
  }

  // ---- flush / shutdown -----------------------------------------------------------------

  private _notify(): void {
    const waiters = this._waiters;
    this._waiters = [];
    for (const w of waiters) w();
  }

  private _changed(): Promise<void> {
    return new Promise((resolve) => this._waiters.push(resolve));
  }

  /** Nothing left that could be delivered now. */
  private _idle(): boolean {
    // While blocked only a probe can be in flight; wait for its answer.
    if (this._blocked()) return this._inFlightBatches === 0;
    if (this._state !== 'running') return true;
    return this._queue.length === 0 && this._inFlightBatches === 0;
  }

  private async _flush(boundMs: number): Promise<void> {
    const done = await this._waitUntil(() => this._idle(), boundMs);
    if (!done) {
      log.warn(
        `flush gave up after ${boundMs} ms with ${this._queue.length} queued and ${this._stats.inFlight} in flight`,
      );
    }
  }

  /**
   * Sends queued transactions at once (no scheduled delay) until `done()` or `boundMs` passed.
   * Resolves true when done.
   */
  private async _waitUntil(done: () => boolean, boundMs: number): Promise<boolean> {
    if (this._state === 'disabled') return true;
    this._flushing++;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = this._keepAlive.setTimeout(() => resolve('timeout'), boundMs);
    });
    try {
      while (!done()) {
        this._pump();
        if (done()) break;
        const r = await Promise.race([this._changed(), timedOut]);
        if (r === 'timeout') return false;
      }
      return true;
    } finally {
      this._flushing--;
      this._keepAlive.clearTimeout(timer);
    }
  }

  private async _doShutdown(): Promise<void> {
    this._closing = true;
    if (this._state === 'disabled') {
      this._setState('shut_down');
      return;
    }
    await this._flush(this._flushMillis);
    this._abort.abort();
    this._keepAlive.clearTimeout(this._timer);
    await this._boundedWait(Promise.allSettled([...this._deliveries]), CLOSE_WAIT_MS);
    const left = this._queue.take(this._queue.length);
    if (left.length > 0) {
      log.warn(`Shutting down with ${left.length} undelivered transaction(s) (state: ${this._state})`);
      this._drop(left, 'shutdown');
    }
    this._queueFull.flush();
    this._rejections.flush();
    this._giveUps.flush();
    this._setState('shut_down');
    this._notify();
    if (this._sender !== undefined) await this._boundedWait(this._sender.close(), CLOSE_WAIT_MS);
  }

  private async _boundedWait(p: Promise<unknown>, ms: number): Promise<void> {
    await this._keepAlive.race(p, ms);
  }
}

/** The endpoint for a message: no credentials, query or fragment. */
function displayUrl(endpoint: string): string {
  try {
    const u = new URL(endpoint);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}
