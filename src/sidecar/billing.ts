import { diag } from '@opentelemetry/api';
import { billingAttributeFilter } from '../genai/billing-keys.js';
import type { ConversionOptions } from '../genai/convert-trace.js';
import { errorText } from '../internal/safe.js';
import type { Scheduler } from '../internal/scheduler.js';
import { realScheduler } from '../internal/scheduler.js';
import type { Pricer } from '../pricing/types.js';
import type { KeepAttribute } from '../span/otlp-common.js';
import type { SpanView } from '../span/span-view.js';
import type { Admission, StageResult } from '../stage/conversion-stage.js';
import { ConversionStage } from '../stage/conversion-stage.js';
import type { PricedTransaction } from '../stage/priced-transaction.js';
import { slimSpan } from '../stage/span-memory.js';
import { StageTimer } from '../stage/stage-timer.js';
import type { HoldLimits } from '../stage/trace-holder.js';
import type { Settlement, TransactionDelivery } from './delivery.js';
import type { Metrics } from './metrics.js';
import type { Spool } from './spool.js';
import { SpoolFullError } from './spool.js';

/**
 * The sidecar's billing path: accepted spans → spool record → the conversion stage → delivery.
 * A spool record stays until every trace that took spans of it has been resolved and its
 * transactions settled: each record counts its references (one per trace that took it, dropped
 * when that trace's transactions are settled).
 */
export interface BillingOptions extends Partial<HoldLimits> {
  conversion: ConversionOptions;
  pricer: Pricer;
  /** Clock and timers of trace holding; default real, unref'd ones. */
  scheduler?: Scheduler;
}

export type IngestOutcome = { status: 'ok'; billable: number } | { status: 'full'; why: 'spool' | 'queue' };

/** The transactions of one resolved trace, and the spool records they came from. */
interface Group {
  records: readonly number[];
  outstanding: number;
  acks: string[];
  scheduled: boolean;
}

const log = diag.createComponentLogger({ namespace: '@fenra/otel/sidecar' });

export const txKey = (t: PricedTransaction): string => `${t.span.traceId}:${t.span.spanId}`;

export class BillingPath {
  private readonly _spool: Spool;
  private readonly _delivery: TransactionDelivery;
  private readonly _metrics: Metrics;
  private readonly _stage: ConversionStage<number>;
  private readonly _timer: StageTimer;
  private readonly _refs = new Map<number, number>();
  /** Transactions a previous run saw accepted (from the spool's ack log): not sent again. */
  private _acked: ReadonlySet<string> = new Set<string>();
  /** Resolutions not yet handled: the stage reports them synchronously, they are handled after. */
  private _results: StageResult<number>[] = [];
  /** Resolved traces whose transactions the delivery queue had no room for yet. */
  private readonly _backlog: { txs: PricedTransaction[]; group: Group }[] = [];
  private _feedChain: Promise<unknown> = Promise.resolve();
  /** A record was refused for want of room, and no record has left the spool since. */
  private _spoolRefused = false;

  /** The span attributes billing reads: decoders keep only these (see billingAttributeFilter). */
  readonly keep: KeepAttribute;

  constructor(options: BillingOptions, spool: Spool, delivery: TransactionDelivery, metrics: Metrics) {
    this.keep = billingAttributeFilter(options.conversion);
    this._spool = spool;
    this._delivery = delivery;
    this._metrics = metrics;
    const scheduler = options.scheduler ?? realScheduler;
    this._stage = new ConversionStage<number>({
      ...options,
      now: scheduler.now,
      onResult: (r) => this._results.push(r),
    });
    this._timer = new StageTimer(
      this._stage,
      scheduler,
      (e) => log.error(`trace holding failed: ${errorText(e)}`),
      () => this._afterStage(),
    );
    const stage = this._stage;
    metrics.gauge(
      'fenra_otel_llm_calls_total',
      'Spans recognised as provider calls',
      () => stage.stats.llmCalls,
      'counter',
    );
    metrics.define(
      'fenra_otel_transactions_total',
      'counter',
      'Transactions by outcome (queued, accepted, rejected, skipped reasons)',
    );
    metrics.define(
      'fenra_otel_estimated_usd_total',
      'counter',
      'Estimated USD of queued transactions by provider, model and customer',
    );
    metrics.define('fenra_otel_traces_resolved_total', 'counter', 'Traces resolved by cause');
    metrics.gauge('fenra_otel_pending_traces', 'Traces held waiting for their root', () => stage.heldTraces);
    metrics.gauge(
      'fenra_otel_backlog_transactions',
      'Transactions waiting for room in the delivery queue',
      () => this._backlog.reduce((n, b) => n + b.txs.length, 0),
    );
  }

  /** Replays a previous run's spool (records in order); transactions already accepted are skipped. */
  replay(records: readonly { id: number; spans: SpanView[] }[], acked: Set<string>): void {
    this._acked = acked;
    for (const r of records) this._hold(this._stage.admit(r.spans, false), r.id);
    this._afterStage();
  }

  /**
   * Takes the spans of one request. Resolves once what matters for billing is stored (on disk
   * with a disk spool), so the caller can acknowledge the request.
   */
  async ingest(spans: readonly SpanView[]): Promise<IngestOutcome> {
    this._stage.stats.spansSeen += spans.length;
    // What is stored is only what billing reads, whoever decoded the spans.
    const keep = this.keep;
    const admission = this._stage.admit(
      spans.map((s) => slimSpan(s, keep)),
      true,
    );
    if (admission.spans.length === 0) {
      this._stage.abandon(admission);
      return { status: 'ok', billable: 0 };
    }
    // A request completing held traces may use the spool's reserve: it lets their records leave.
    const full: IngestOutcome | undefined = !this._spool.hasRoom(admission.completes)
      ? { status: 'full', why: 'spool' }
      : this._backlog.length > 0 && !this._drainBacklog()
        ? { status: 'full', why: 'queue' }
        : undefined;
    if (full !== undefined) {
      this._stage.abandon(admission);
      return full;
    }
    const record = admission.context.length ? [...admission.spans, ...admission.context] : admission.spans;
    const appended = this._spool.append(record, admission.completes);
    // Requests are held in arrival order, whichever spool write finishes first.
    const previous = this._feedChain;
    const fed = (async (): Promise<boolean> => {
      let id: number | undefined;
      try {
        id = await appended;
        this._spoolRefused = false;
      } catch (e) {
        if (e instanceof SpoolFullError) this._spoolRefused = true;
        else log.error(`cannot write to the spool: ${errorText(e)}`);
      }
      await previous;
      if (id === undefined) {
        this._stage.abandon(admission);
        return false;
      }
      this._hold(admission, id);
      this._afterStage();
      return true;
    })();
    this._feedChain = fed;
    return (await fed) ? { status: 'ok', billable: record.length } : { status: 'full', why: 'spool' };
  }

  /** Resolves every held trace now (shutdown). */
  flushTraces(): void {
    this._stage.flush();
    this._afterStage();
  }

  /** No room for new traces (the reserve may still take requests completing held ones). */
  isFull(): boolean {
    return this._spoolRefused || !this._spool.hasRoom(false);
  }

  stop(): void {
    this._timer.stop();
  }

  /** Holds a stored delivery; its record is referenced once per trace that took it. */
  private _hold(admission: Admission, id: number): void {
    this._refs.set(id, 1); // this call's own reference, dropped below
    const taken = this._stage.add(admission, id);
    if (taken > 0) this._refs.set(id, 1 + taken);
    this._handleResults();
    this._ref(id, -1);
  }

  /** After the stage ran (a delivery, expiry, flush): handles its results, retries the backlog, re-arms the timer. */
  private _afterStage(): void {
    this._handleResults();
    if (this._backlog.length) this._drainBacklog();
    this._timer.kick();
  }

  private _handleResults(): void {
    while (this._results.length > 0) {
      const results = this._results;
      this._results = [];
      for (const r of results) this._onResolved(r);
    }
  }

  private _ref(id: number, delta: number): void {
    const n = (this._refs.get(id) ?? 0) + delta;
    if (n > 0) {
      this._refs.set(id, n);
      return;
    }
    this._refs.delete(id);
    this._spool.release(id);
    this._spoolRefused = false;
  }

  private _onResolved(r: StageResult<number>): void {
    this._metrics.add('fenra_otel_traces_resolved_total', 1, { cause: r.cause });
    for (const s of r.skipped)
      this._metrics.add('fenra_otel_transactions_total', 1, { outcome: `skipped_${s.reason}` });
    const group: Group = { records: r.tags, outstanding: 0, acks: [], scheduled: false };
    const txs = r.transactions.filter((t) => !this._acked.has(txKey(t)));
    if (txs.length === 0) {
      this._release(group);
      return;
    }
    group.outstanding = txs.length;
    if (this._backlog.length > 0 || !this._send(txs, group)) this._backlog.push({ txs, group });
  }

  private _send(txs: PricedTransaction[], group: Group): boolean {
    const ok = this._delivery.send(txs, (tx, s) => this._settled(tx, s, group));
    if (!ok) return false;
    for (const t of txs) {
      this._metrics.add('fenra_otel_transactions_total', 1, { outcome: 'queued' });
      if (t.price.usd !== null) {
        this._metrics.add('fenra_otel_estimated_usd_total', t.price.usd, {
          provider: t.provider,
          model: t.model,
          customer: t.context.billable_customer_id,
        });
      }
    }
    return true;
  }

  private _drainBacklog(): boolean {
    while (this._backlog.length > 0) {
      const b = this._backlog[0]!;
      if (!this._send(b.txs, b.group)) return false;
      this._backlog.shift();
    }
    return true;
  }

  private _settled(tx: PricedTransaction, s: Settlement, group: Group): void {
    this._metrics.add('fenra_otel_transactions_total', 1, {
      outcome: s.outcome === 'accepted' ? 'accepted' : `${s.outcome}_${s.reason}`,
    });
    // Dropped undelivered (shutdown, no key): a disk spool keeps its record for the next start.
    if (s.outcome === 'dropped' && this._spool.durable) return;
    group.outstanding--;
    if (s.outcome === 'accepted') group.acks.push(txKey(tx));
    if (!group.scheduled) {
      group.scheduled = true;
      queueMicrotask(() => this._afterSettle(group));
    }
  }

  private _afterSettle(group: Group): void {
    group.scheduled = false;
    const done = group.outstanding === 0;
    // Only records shared with other work need the ack log: the rest leave the disk right away.
    const shared = group.records.some((r) => (this._refs.get(r) ?? 0) > 1);
    if (done && !shared) {
      group.acks = [];
      this._release(group);
    } else if (group.acks.length > 0) {
      const acks = group.acks.splice(0);
      this._spool.ack(acks, group.records).then(
        () => {
          if (group.outstanding === 0 && group.acks.length === 0) this._release(group);
        },
        (e: unknown) => log.error(`cannot write the spool ack log: ${errorText(e)}`),
      );
    } else if (done) this._release(group);
    if (this._backlog.length) this._drainBacklog();
  }

  private _release(group: Group): void {
    for (const r of group.records) this._ref(r, -1);
    group.records = [];
  }
}
