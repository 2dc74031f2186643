import { diag } from '@opentelemetry/api';
import { settingName } from '../config/names.js';
import { SETTINGS } from '../config/settings.js';
import { billingAttributeFilter } from '../genai/billing-keys.js';
import type { ConversionOptions } from '../genai/convert-trace.js';
import { SkipExplainer } from '../genai/skip-explanations.js';
import { CONDITIONS } from '../internal/conditions.js';
import { errorText } from '../internal/safe.js';
import type { Scheduler } from '../internal/scheduler.js';
import { realScheduler } from '../internal/scheduler.js';
import type { DeliveryPipeline } from '../pipeline/delivery-pipeline.js';
import type { StageCounters } from '../pipeline/metric-readings.js';
import type { Settlement } from '../pipeline/settlement-ledger.js';
import type { Pricer } from '../pricing/types.js';
import type { AttributeFilter } from '../span/attribute-filter.js';
import type { SpanView } from '../span/span-view.js';
import type { Admission, StageResult } from '../stage/conversion-stage.js';
import { ConversionStage } from '../stage/conversion-stage.js';
import type { PricedTransaction } from '../stage/priced-transaction.js';
import { slimSpan } from '../stage/span-memory.js';
import { StageTimer } from '../stage/stage-timer.js';
import type { HoldLimits } from '../stage/trace-holder.js';
import type { Spool } from './spool.js';
import { SpoolFullError } from './spool.js';

/**
 * The sidecar's billing path: accepted spans → spool record → the conversion stage → the
 * delivery pipeline. A spool record stays until every trace that took spans of it has been
 * resolved and its transactions settled: each record counts its references (one per trace that
 * took it, dropped when that trace's transactions are settled). The spool is the persistent
 * queue around the stage; the pipeline's own queue never drops what billing hands it (billing
 * asks for room first and keeps a backlog meanwhile, bounded by the spool).
 */
export interface BillingOptions extends Partial<HoldLimits> {
  conversion: ConversionOptions;
  pricer: Pricer;
  /** Clock and timers of trace holding; default real, unref'd ones. */
  scheduler?: Scheduler;
  /** New requests are refused while the delivery queue has fewer free places than this (default 1). */
  queueLowWater?: number;
}

/** What the billing path needs of the delivery pipeline. */
export type PipelinePort = Pick<DeliveryPipeline, 'spaceLeft' | 'enqueue' | 'onSettled' | 'onSending'>;

export type IngestOutcome = { status: 'ok'; billable: number } | { status: 'full'; why: Pressure['why'] };

/** Why requests must wait: the spool's disk refuses writes, the spool is full, or the queue to Fenra is. */
export interface Pressure {
  why: 'spool_error' | 'spool' | 'queue';
  message: string;
}

/** The transactions of one resolved trace, and the spool records they came from. */
interface Group {
  records: readonly number[];
  outstanding: number;
  /** Accepted since the last ack: their keys are only made when the ack log needs them. */
  acks: PricedTransaction[];
  scheduled: boolean;
}

const log = diag.createComponentLogger({ namespace: '@fenra/otel/sidecar' });

export const txKey = (t: PricedTransaction): string => `${t.span.traceId}:${t.span.spanId}`;

export class BillingPath {
  private readonly _spool: Spool;
  private readonly _pipeline: PipelinePort;
  private readonly _stage: ConversionStage<number>;
  private readonly _timer: StageTimer;
  private readonly _refs = new Map<number, number>();
  private readonly _groups = new Map<PricedTransaction, Group>();
  private readonly _explainer = new SkipExplainer((text) => log.warn(text));
  /** Transactions a previous run saw accepted (from the spool's ack log): not sent again. */
  private _acked: ReadonlySet<string> = new Set<string>();
  /** Transactions a previous run put on the wire without an ack: possible duplicates when resent. */
  private _sent: ReadonlySet<string> = new Set<string>();
  /** Resolutions not yet handled: the stage reports them synchronously, they are handled after. */
  private _results: StageResult<number>[] = [];
  /** Groups with settlements to handle, once the settling call returns (one microtask for all). */
  private _settling: Group[] = [];
  private readonly _afterSettlements = (): void => this._afterSettleAll();
  /** Resolved traces whose transactions the delivery queue had no room for yet. */
  private readonly _backlog: { txs: PricedTransaction[]; group: Group }[] = [];
  private _backlogSize = 0;
  private _feedChain: Promise<unknown> = Promise.resolve();
  /** A record was refused for want of room, and no record has left the spool since. */
  private _spoolRefused = false;
  /** Calls without a customer were reported (once). */
  private _unattributedSaid = false;
  private readonly _lowWater: number;

  /** The span attributes billing reads: decoders keep only these (see billingAttributeFilter). */
  readonly keep: AttributeFilter;

  constructor(options: BillingOptions, spool: Spool, pipeline: PipelinePort) {
    this.keep = billingAttributeFilter(options.conversion);
    this._lowWater = options.queueLowWater ?? 1;
    this._spool = spool;
    this._pipeline = pipeline;
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
    pipeline.onSettled((items, outcome) => {
      for (const tx of items) {
        const group = this._groups.get(tx);
        if (group === undefined) continue;
        this._groups.delete(tx);
        this._settled(tx, outcome, group);
      }
    });
    if (spool.durable) pipeline.onSending((items) => this._sending(items));
  }

  /** The conversion stage's counters (for the metrics). */
  get stage(): StageCounters {
    return this._stage;
  }

  /** Transactions resolved and waiting for room in the delivery queue. */
  get backlog(): number {
    return this._backlogSize;
  }

  /**
   * Replays a previous run's spool (records in order); transactions already accepted are
   * skipped, those put on the wire before are counted as possible duplicates when accepted.
   */
  replay(
    records: readonly { id: number; spans: SpanView[] }[],
    acked: Set<string>,
    sent = new Set<string>(),
  ): void {
    this._acked = acked;
    this._sent = sent;
    for (const r of records) this._hold(this._stage.admit(r.spans, false), r.id);
    this._afterStage();
  }

  /**
   * Why a request would be refused now, decided before it is read (undefined: take it). A
   * request that completes held traces may still use the spool's reserve: that is known only
   * once it is decoded (see {@link ingest}).
   */
  pressure(): Pressure | undefined {
    const problem = this._spool.problem();
    if (problem !== undefined) return { why: 'spool_error', message: `${problem}, retry later` };
    if (!this._spool.hasRoom(true)) return { why: 'spool', message: 'the spool is full, retry later' };
    // Transactions wait for room (or the queue is down to its last batch): no new ones now.
    if ((this._backlog.length > 0 && !this._drainBacklog()) || this._pipeline.spaceLeft() < this._lowWater)
      return { why: 'queue', message: 'the queue to Fenra is full, retry later' };
    return undefined;
  }

  /**
   * Takes the spans of one request (`decodedWith`: the filter their decoder applied, if any).
   * Resolves once what matters for billing is stored (on disk
   * with a disk spool), so the caller can acknowledge the request.
   */
  async ingest(spans: readonly SpanView[], decodedWith?: AttributeFilter): Promise<IngestOutcome> {
    this._stage.stats.spansSeen += spans.length;
    // What is stored is only what billing reads, whoever decoded the spans (spans a decoder
    // already kept through this very filter are as slim as they get: not filtered twice).
    const keep = this.keep;
    const admission = this._stage.admit(
      decodedWith === keep ? spans : spans.map((s) => slimSpan(s, keep)),
      true,
    );
    if (admission.spans.length === 0) {
      this._stage.abandon(admission);
      return { status: 'ok', billable: 0 };
    }
    const problem = this._spool.problem();
    // A request completing held traces may use the spool's reserve: it lets their records leave.
    const full: IngestOutcome | undefined =
      problem !== undefined
        ? { status: 'full', why: 'spool_error' }
        : !this._spool.hasRoom(admission.completes)
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
    const fed = (async (): Promise<IngestOutcome> => {
      let id: number | undefined;
      let why: Pressure['why'] = 'spool';
      try {
        id = await appended;
        this._spoolRefused = false;
      } catch (e) {
        if (e instanceof SpoolFullError) this._spoolRefused = true;
        else why = 'spool_error';
      }
      await previous;
      if (id === undefined) {
        this._stage.abandon(admission);
        return { status: 'full', why };
      }
      this._hold(admission, id);
      this._afterStage();
      return { status: 'ok', billable: record.length };
    })();
    this._feedChain = fed;
    return fed;
  }

  /** Resolves every held trace now (shutdown). */
  flushTraces(): void {
    this._stage.flush();
    this._afterStage();
  }

  /** No room for new traces (the reserve may still take requests completing held ones), or a disk refusing writes. */
  isFull(): boolean {
    return this._spoolRefused || !this._spool.hasRoom(false) || this._spool.problem() !== undefined;
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
    for (const s of r.skipped)
      this._explainer.explain(s.reason, s.detail, CONDITIONS.furtherCounted('serve'));
    if (!this._unattributedSaid && this._stage.stats.unattributed > 0) {
      this._unattributedSaid = true;
      const names = {
        billableCustomerId: settingName(SETTINGS.billableCustomerId, 'serve'),
        customerIdKeys: settingName(SETTINGS.customerIdKeys, 'serve'),
      };
      log.warn(CONDITIONS.unattributed('serve', names, this._stage.stats.unattributed));
    }
    const group: Group = { records: r.tags, outstanding: 0, acks: [], scheduled: false };
    // Transactions a previous run's Fenra accepted (a spool replayed at start): none most times.
    const txs =
      this._acked.size === 0 ? r.transactions : r.transactions.filter((t) => !this._acked.has(txKey(t)));
    if (txs.length === 0) {
      this._release(group);
      return;
    }
    group.outstanding = txs.length;
    if (this._backlog.length > 0 || !this._send(txs, group)) {
      this._backlog.push({ txs, group });
      this._backlogSize += txs.length;
    }
  }

  private _send(txs: PricedTransaction[], group: Group): boolean {
    if (this._pipeline.spaceLeft() < txs.length) return false;
    for (const t of txs) this._groups.set(t, group);
    if (this._sent.size === 0) {
      this._pipeline.enqueue(txs);
      return true;
    }
    const again = txs.filter((t) => this._sent.has(txKey(t)));
    if (again.length > 0) this._pipeline.enqueue(again, true);
    if (again.length < txs.length) this._pipeline.enqueue(txs.filter((t) => !this._sent.has(txKey(t))));
    return true;
  }

  private _drainBacklog(): boolean {
    while (this._backlog.length > 0) {
      const b = this._backlog[0]!;
      if (!this._send(b.txs, b.group)) return false;
      this._backlog.shift();
      this._backlogSize -= b.txs.length;
    }
    return true;
  }

  /** Notes on disk, before a request leaves, the transactions it carries (their records' ids). */
  private _sending(items: readonly PricedTransaction[]): void {
    let byGroup: Map<Group, string[]> | undefined;
    for (const tx of items) {
      const group = this._groups.get(tx);
      if (group === undefined || group.records.length === 0) continue;
      byGroup ??= new Map();
      let keys = byGroup.get(group);
      if (keys === undefined) byGroup.set(group, (keys = []));
      keys.push(txKey(tx));
    }
    if (byGroup !== undefined) for (const [group, keys] of byGroup) this._spool.sending(keys, group.records);
  }

  private _settled(tx: PricedTransaction, s: Settlement, group: Group): void {
    // Dropped undelivered (shutdown, no key): a disk spool keeps its record for the next start.
    if (s.kind === 'dropped' && this._spool.durable) return;
    group.outstanding--;
    // Only a durable spool keeps an ack log (a spool in memory is gone with the process).
    if (s.kind === 'accepted' && this._spool.durable) group.acks.push(tx);
    if (!group.scheduled) {
      group.scheduled = true;
      if (this._settling.push(group) === 1) queueMicrotask(this._afterSettlements);
    }
  }

  /**
   * The groups settled by the calls that just returned (a request's answer settles up to a
   * batch of them at once): one microtask for all, then the backlog once.
   */
  private _afterSettleAll(): void {
    const groups = this._settling;
    this._settling = [];
    for (const group of groups) this._afterSettle(group);
    if (this._backlog.length) this._drainBacklog();
  }

  private _afterSettle(group: Group): void {
    group.scheduled = false;
    const done = group.outstanding === 0;
    if (group.acks.length === 0) {
      if (done) this._release(group);
      return;
    }
    // Only records shared with other work need the ack log: the rest leave the disk right away.
    if (done && !this._shared(group.records)) {
      group.acks.length = 0;
      this._release(group);
      return;
    }
    const acks = group.acks.map(txKey);
    group.acks = [];
    // Resolves once durable (after a disk failure, once the disk takes writes again).
    void this._spool.ack(acks, group.records).then(() => {
      if (group.outstanding === 0 && group.acks.length === 0) this._release(group);
    });
  }

  private _shared(records: readonly number[]): boolean {
    for (const r of records) if ((this._refs.get(r) ?? 0) > 1) return true;
    return false;
  }

  private _release(group: Group): void {
    for (const r of group.records) this._ref(r, -1);
    group.records = [];
  }
}
