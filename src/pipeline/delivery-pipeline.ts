import { diag } from '@opentelemetry/api';
import { CONDITIONS, keptText } from '../internal/conditions.js';
import { warnProcessOnce } from '../internal/process-warning.js';
import { RateLimitedReport } from '../internal/rate-limited.js';
import { displayUrl } from '../internal/display-url.js';
import { errorText } from '../internal/safe.js';
import { KeepAlive } from '../internal/timers.js';
import type { PricedTransaction } from '../stage/priced-transaction.js';
import { BoundedQueue } from './bounded-queue.js';
import type { DeliveryConfig, DeliveryPipelineDeps } from './delivery-config.js';
import { DeliveryNotices } from './delivery-notices.js';
import { Gate } from './gate.js';
import { DEFAULT_RETRY_POLICY } from './retry-policy.js';
import type { BatchResult, BatchSender, TransactionSender } from './sender.js';
import type { SettledHook } from './settlement-ledger.js';
import { REPORT_INTERVAL_MS, SettlementLedger } from './settlement-ledger.js';
import type { DropReason, PipelineState, PipelineStats } from './stats.js';
import { destinationText, senderChain, whyNotSending } from './pipeline-parts.js';
import { emptyStats } from './stats.js';

export { MAX_PAUSE_MS } from './retrying-sender.js';
export type { Settlement } from './settlement-ledger.js';

const log = diag.createComponentLogger({ namespace: '@fenra/otel/delivery' });

/** How long shutdown waits for aborted requests and the sender to close, ms. */
const CLOSE_WAIT_MS = 2_000;

/**
 * THE delivery pipeline of every mode, in the spirit of the Collector's exporterhelper: a
 * bounded queue whose capacity counts what is in flight (a batch that comes back always fits),
 * a batcher (`maxExportBatchSize` or `scheduledDelayMillis`, at most `concurrencyLimit`
 * requests at once), a bisecting sender over a retrying sender over the destination's sender,
 * the key/endpoint gate, and the settlement ledger. `enqueue` is synchronous and never throws;
 * what does not fit in the queue is dropped and counted (`queue_full`: the one drop policy, as
 * OTel's BatchSpanProcessor does); an owner that can push back (the sidecar) asks
 * {@link spaceLeft} first and never meets it. Nothing taken is dropped otherwise, except at
 * shutdown (counted).
 */
export class DeliveryPipeline {
  private readonly _o: DeliveryConfig;
  private readonly _sender: TransactionSender | undefined;
  private readonly _chain: BatchSender | undefined;
  private readonly _now: () => number;
  private readonly _flushMillis: number;
  private readonly _keepAlive: KeepAlive;
  private readonly _processWarnings: boolean;
  private readonly _queue: BoundedQueue<PricedTransaction>;
  private readonly _stats: PipelineStats;
  private readonly _ledger: SettlementLedger;
  private readonly _gate: Gate;
  private readonly _abort = new AbortController();
  private readonly _sendingHooks: ((items: readonly PricedTransaction[]) => void)[] = [];
  private readonly _disabled: DropReason | undefined;
  private readonly _queueFull: RateLimitedReport;
  /** The first acceptance, problems once per cause with their cause, losses at the end. */
  readonly notices: DeliveryNotices;

  private _inFlightBatches = 0;
  private readonly _deliveries = new Set<Promise<void>>();
  private _timer: ReturnType<typeof setTimeout> | undefined;
  private _due = false;
  private _flushing = 0;
  private _pumpScheduled = false;
  private _closing = false;
  private _shutdown: Promise<void> | undefined;
  private _waiters: (() => void)[] = [];

  constructor(options: DeliveryConfig, deps: DeliveryPipelineDeps = {}) {
    this._o = { ...options, maxExportBatchSize: Math.min(options.maxExportBatchSize, options.maxQueueSize) };
    this._now = deps.now ?? Date.now;
    this._keepAlive = deps.keepAlive ?? new KeepAlive();
    this._processWarnings = deps.processWarnings === true;
    const sleep = deps.sleep ?? this._keepAlive.sleep;
    this._flushMillis = deps.flushTimeoutMillis ?? options.exportTimeoutMillis + 1_000;
    this._queue = new BoundedQueue(options.maxQueueSize);
    const names = options.settingNames;
    const destination = deps.endpoint ?? options.endpoint;
    const kept = deps.kept ?? keptText(deps.mode ?? 'library', options.maxQueueSize);
    this.notices = new DeliveryNotices({
      destination: destinationText(destination),
      kept,
      names,
      ...(this._processWarnings ? { warn: warnProcessOnce } : {}),
    });
    this._disabled = deps.sender === undefined ? whyNotSending(options, this._processWarnings) : undefined;
    const state: PipelineState = this._disabled === undefined ? 'running' : 'disabled';
    this._stats = emptyStats(state);
    this._ledger = new SettlementLedger(this._stats, this._now, () => this._notify());
    if (deps.onSettled) this._ledger.onSettled(deps.onSettled);
    this._gate = new Gate(
      {
        maxQueueSize: options.maxQueueSize,
        endpoint: deps.endpoint ?? options.endpoint,
        hints: { key: names.apiKey, endpoint: names.endpoint },
        kept,
        processWarnings: this._processWarnings,
        probeMillis: deps.unauthorizedProbeMillis ?? 60_000,
        rejectingProbeMillis: deps.rejectingProbeMillis ?? 5_000,
        sleep,
        signal: this._abort.signal,
        onProbe: () => this._probe(),
        onChange: () => {
          this._schedulePump();
          this._notify();
        },
      },
      state,
    );
    if (this._disabled === undefined) {
      this._sender = deps.sender;
      this._chain = senderChain(deps.sender!, {
        now: this._now,
        sleep,
        random: deps.random ?? Math.random,
        policy: deps.retryPolicy ?? DEFAULT_RETRY_POLICY,
        requestTimeoutMillis: options.requestTimeoutMillis,
        signal: this._abort.signal,
        stats: this._stats,
        ledger: this._ledger,
        notices: this.notices,
        sendingHooks: this._sendingHooks,
      });
    }
    const where = displayUrl(deps.endpoint ?? options.endpoint);
    this._queueFull = new RateLimitedReport(REPORT_INTERVAL_MS, this._now, (n) => {
      const message = CONDITIONS.queueFull(names, n, options.maxQueueSize, where);
      log.warn(message);
      if (this._processWarnings) warnProcessOnce('FENRA_QUEUE_FULL', `@fenra/otel: ${message}`);
    });
  }

  get state(): PipelineState {
    return this._gate.state;
  }

  /** While blocked: how many probes were refused the same way since the block began. */
  get refusedProbes(): number {
    return this._gate.refusedProbes;
  }

  /** While blocked: what the destination said. */
  get blockMessage(): string {
    return this._gate.blockMessage;
  }

  /** Adds a hook called once per settled group (see {@link Settlement}). */
  onSettled(hook: SettledHook): void {
    this._ledger.onSettled(hook);
  }

  /** Adds a hook called before each request with what it carries (resends included). */
  onSending(hook: (items: readonly PricedTransaction[]) => void): void {
    this._sendingHooks.push(hook);
  }

  /**
   * Queues transactions for delivery. Synchronous, bounded, never throws. `maybeSent`: they
   * may already be at the destination (found again after a crash): counted as possible
   * duplicates when accepted.
   */
  enqueue(items: readonly PricedTransaction[], maybeSent = false): void {
    try {
      if (items.length === 0) return;
      if (this._disabled !== undefined) return this._ledger.drop(items, this._disabled);
      if (this._closing) return this._ledger.drop(items, 'shutdown');
      if (maybeSent) this._ledger.markMaybeSent(items);
      const taken = this._queue.offer(items);
      this._stats.enqueued += taken;
      if (taken < items.length) {
        this._ledger.drop(items.slice(taken), 'queue_full');
        this._queueFull.note(items.length - taken);
      }
      this._schedulePump();
    } catch (e) {
      log.error(`internal error while queueing: ${errorText(e)}`);
    }
  }

  /**
   * Queues `items` and sends them at once (no scheduled delay); resolves when the destination
   * has answered for each of them (accepted, refused, or counted as dropped), when sending is
   * paused (they stay queued), or after `timeoutMs` (default `exportTimeoutMillis`). While it
   * waits, its timers keep the process alive. For an exporter whose caller waits. Never rejects.
   */
  enqueueAndWait(
    items: readonly PricedTransaction[],
    timeoutMs = this._o.exportTimeoutMillis,
  ): Promise<void> {
    try {
      if (items.length === 0) return Promise.resolve();
      const open = this._disabled === undefined && !this._closing;
      const waiter = open ? this._ledger.wait(items) : { left: 0 };
      this.enqueue(items); // what is dropped at once settles (and leaves the waiter) here
      if (waiter.left === 0) return Promise.resolve();
      return this._keepAlive
        .hold(() => this._waitUntil(() => waiter.left === 0 || !this._gate.open(), timeoutMs))
        .then(
          () => undefined,
          (e: unknown) => log.error(`internal error while waiting for delivery: ${errorText(e)}`),
        )
        .finally(() => {
          if (waiter.left > 0) this._ledger.unwait(items, waiter);
        });
    } catch (e) {
      log.error(`internal error while queueing: ${errorText(e)}`);
      return Promise.resolve();
    }
  }

  /**
   * Sends everything queued; resolves when the destination has answered for it, or after
   * `timeoutMs` (default: the flush limit). The process is kept alive meanwhile. Never rejects.
   */
  forceFlush(timeoutMs = this._flushMillis): Promise<void> {
    if (this._shutdown !== undefined) return this._shutdown;
    return this._keepAlive
      .hold(() => this._flush(timeoutMs))
      .catch((e: unknown) => {
        log.error(`internal error while flushing: ${errorText(e)}`);
      });
  }

  /** Flushes, then stops: aborts backoffs, drops (and counts) what is left, closes the sender. Once only. */
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

  /** Places left in the queue (what is in flight holds its places): lets an owner push back first. */
  spaceLeft(): number {
    return this._disabled !== undefined || this._closing ? 0 : this._queue.free;
  }

  /** Local price estimate of accepted transactions by provider and model (at most 200 pairs). */
  usdByModel(): ReadonlyMap<string, { provider: string; model: string; usd: number }> {
    return this._ledger.usdByModel;
  }

  /** Transactions not settled yet: queued, or taken by a delivery (in a request or waiting to retry). */
  undelivered(): number {
    return this._queue.length + this._queue.inFlight;
  }

  stats(): PipelineStats {
    return {
      ...this._stats,
      failed: { ...this._stats.failed },
      dropped: { ...this._stats.dropped },
      state: this._gate.state,
      queueDepth: this._queue.length,
    };
  }

  // ---- batching -------------------------------------------------------------------------

  private _schedulePump(): void {
    if (this._pumpScheduled) return;
    this._pumpScheduled = true;
    // Batches leave off the caller's stack.
    queueMicrotask(() => {
      this._pumpScheduled = false;
      this._pump();
    });
  }

  private _pump(): void {
    if (!this._gate.open()) return;
    const { maxExportBatchSize, concurrencyLimit } = this._o;
    const q = this._queue;
    while (
      this._inFlightBatches < concurrencyLimit &&
      q.length > 0 &&
      (q.length >= maxExportBatchSize || this._due || this._flushing > 0)
    ) {
      this._startDelivery(q.take(maxExportBatchSize), false);
    }
    if (q.length === 0) this._due = false;
    if (q.length > 0 && !this._due && this._timer === undefined) {
      this._timer = this._keepAlive.setTimeout(() => {
        this._timer = undefined;
        this._due = true;
        this._pump();
      }, this._o.scheduledDelayMillis);
    }
  }

  /** While blocked: one batch from the front of the queue probes the destination. */
  private _probe(): void {
    const batch = this._queue.take(this._o.maxExportBatchSize);
    if (batch.length === 0) this._gate.probed();
    else this._startDelivery(batch, true);
  }

  private _startDelivery(batch: PricedTransaction[], probe: boolean): void {
    this._inFlightBatches++;
    const deadline = this._now() + this._o.exportTimeoutMillis;
    const p = this._chain!.deliver(batch, deadline)
      .then(
        (r) => this._settle(r, probe),
        (e: unknown) => {
          // Only `_settle` settles a batch taken for delivery, and it did not run: the whole
          // batch is unsettled. (No set of every transaction ever settled is kept for this:
          // one entry per transaction in a long-lived weak set was 3.5 % of what an
          // application's scavenges had to keep, in process.)
          log.error(`internal error while delivering: ${errorText(e)}`);
          this._queue.release(batch.length);
          this._ledger.drop(batch, 'retries_exhausted');
        },
      )
      .finally(() => {
        this._inFlightBatches--;
        this._deliveries.delete(p);
        this._schedulePump();
        this._notify();
      });
    this._deliveries.add(p);
  }

  /** Settles what a batch delivered, refused or kept, and acts on its hold. */
  private _settle(r: BatchResult, probe: boolean): void {
    const q = this._queue;
    q.release(r.accepted.length);
    this._ledger.accept(r.accepted);
    this.notices.accepted(r.accepted.length);
    for (const f of r.refused) {
      q.release(f.items.length);
      this._ledger.fail(f.items, f.reason, f.message);
      this.notices.refused(f.message);
    }
    const hold = r.hold;
    if (r.kept.length > 0) {
      if (this._closing || this._abort.signal.aborted || hold?.kind === 'aborted') {
        q.release(r.kept.length);
        this._ledger.drop(r.kept, hold?.kind === 'backoff' ? 'retries_exhausted' : 'shutdown');
      } else if (hold?.kind === 'blocked' && hold.state === 'rejecting_all') {
        // Refused in every part tried: the probe tries other transactions first, whose
        // acceptance tells a batch of bad transactions from a destination refusing everything.
        q.requeueLast(r.kept);
      } else {
        q.requeue(r.kept);
        if (hold?.kind === 'backoff') this._stats.requeued++;
      }
    }
    if (hold?.kind === 'blocked') this._gate.block(hold.state, hold.status, hold.message, probe);
    else if (this._gate.blocked() && (r.accepted.length > 0 || r.refused.length > 0 || hold === undefined))
      this._gate.recover();
    else if (probe) this._gate.probed();
    // A batch that used its retry budget: the problem was said when it started (notices), what
    // it cost is said at the end.
    if (hold?.kind === 'backoff' && !this._closing) this._gate.pause(hold.ms);
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
    if (this._gate.blocked()) return this._inFlightBatches === 0;
    if (this._gate.state !== 'running') return true;
    return this._queue.length === 0 && this._inFlightBatches === 0;
  }

  private async _flush(boundMs: number): Promise<void> {
    const done = await this._waitUntil(() => this._idle(), boundMs);
    if (!done) {
      const why = this.notices.problem;
      log.warn(
        `flush gave up after ${boundMs} ms with ${this._queue.length} queued and ${this._stats.inFlight} in flight` +
          (why === undefined ? '' : `: ${why}`),
      );
    }
  }

  /** Sends queued transactions at once until `done()` or `boundMs` passed. True when done. */
  private async _waitUntil(done: () => boolean, boundMs: number): Promise<boolean> {
    if (this._gate.state === 'disabled') return true;
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
    if (this._gate.state === 'disabled') {
      this._gate.state = 'shut_down';
      this._stats.state = 'shut_down';
      return;
    }
    await this._flush(this._flushMillis);
    this._abort.abort();
    this._keepAlive.clearTimeout(this._timer);
    await this._keepAlive.race(Promise.allSettled([...this._deliveries]), CLOSE_WAIT_MS);
    // What is left is counted here; the owner says what was lost and why (notices).
    const left = this._queue.drain();
    if (left.length > 0) this._ledger.drop(left, 'shutdown');
    this._queueFull.flush();
    this._ledger.flushReports();
    this._gate.state = 'shut_down';
    this._stats.state = 'shut_down';
    this._notify();
    if (this._sender !== undefined) await this._keepAlive.race(this._sender.close(), CLOSE_WAIT_MS);
  }
}
