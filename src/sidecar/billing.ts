import { diag } from '@opentelemetry/api';
import { billingAttributeFilter } from '../genai/billing-keys.js';
import { mayBeGenAi } from '../genai/detect.js';
import type { PricedTransaction } from '../genai/priced-transaction.js';
import type { ConversionOptions } from '../genai/to-transactions.js';
import { toTransactions } from '../genai/to-transactions.js';
import type { ResolveCause } from '../pipeline/trace-assembler.js';
import { isLocalRoot, TraceAssembler } from '../pipeline/trace-assembler.js';
import type { KeepAttribute } from '../span/otlp-common.js';
import type { SpanView } from '../span/span-view.js';
import type { Settlement, TransactionDelivery } from './delivery.js';
import type { Metrics } from './metrics.js';
import { slimSpan } from './slim-span.js';
import type { Spool } from './spool.js';
import { SpoolFullError } from './spool.js';

/**
 * The sidecar's billing path: accepted spans → spool record → trace assembly → `toTransactions`
 * → delivery. A spool record stays until every trace that used it has been delivered: each
 * record counts its references (traces still held, groups of transactions still unsettled).
 */
export interface BillingOptions {
  conversion: ConversionOptions;
  waitMillis: number;
  maxTraces: number;
  maxSpansPerTrace: number;
}

export type IngestOutcome = { status: 'ok'; billable: number } | { status: 'full'; why: 'spool' | 'queue' };

interface Group {
  records: number[];
  outstanding: number;
  acks: string[];
  scheduled: boolean;
}

interface Held {
  records: Set<number>;
  since: number;
}

const log = diag.createComponentLogger({ namespace: '@fenra/otel/sidecar' });

export const txKey = (t: PricedTransaction): string => `${t.span.traceId}:${t.span.spanId}`;

/**
 * How many recently billed transactions are remembered, so spans an exporter sends again (its
 * request timed out or its answer was lost after we took it) are not billed twice.
 */
const RECENT_BILLED = 100_000;

/** A bounded set of keys: the oldest leaves when a new one comes (ring, no iterator eviction). */
class RecentKeys {
  private readonly _set = new Set<string>();
  private readonly _ring: (string | undefined)[];
  private _pos = 0;
  constructor(size: number) {
    this._ring = new Array<string | undefined>(size);
  }
  has(key: string): boolean {
    return this._set.has(key);
  }
  add(key: string): void {
    if (this._set.has(key)) return;
    const old = this._ring[this._pos];
    if (old !== undefined) this._set.delete(old);
    this._ring[this._pos] = key;
    this._pos = (this._pos + 1) % this._ring.length;
    this._set.add(key);
  }
}

export class BillingPath {
  private readonly _o: BillingOptions;
  private readonly _spool: Spool;
  private readonly _delivery: TransactionDelivery;
  private readonly _metrics: Metrics;
  private readonly _assembler: TraceAssembler;
  private readonly _held = new Map<string, Held>();
  private readonly _refs = new Map<number, number>();
  private _feeding: { id: number; traces: Set<string> } | undefined;
  /** Transactions a previous run saw accepted (from the spool's ack log): not sent again. */
  private _acked: ReadonlySet<string> = new Set<string>();
  /** Transactions this run already billed (bounded): a span received again is not billed again. */
  private readonly _billed = new RecentKeys(RECENT_BILLED);
  /** Resolved traces whose transactions the delivery queue had no room for yet. */
  private readonly _backlog: { txs: PricedTransaction[]; group: Group }[] = [];
  private _timer: NodeJS.Timeout | undefined;
  private _timerAt = 0;
  /** Traces in requests whose spool write is under way. */
  private readonly _incoming = new Map<string, number>();
  private _feedChain: Promise<unknown> = Promise.resolve();
  /** A record was refused for want of room, and no record has left the spool since. */
  private _spoolRefused = false;
  /** Recent root spans (bounded like the assembler's own memory of them), for stragglers' records. */
  private readonly _roots = new Map<string, SpanView>();
  private readonly _rootRing: (string | undefined)[];
  private _rootPos = 0;
  /**
   * Recent other spans of traces holding nothing (an app span ending before the LLM span it
   * wraps is exported), by span id, bounded the same way: when an LLM span comes, its parent
   * chain is walked through them, so attribution sees the same ancestors as `convert`.
   */
  private readonly _recent = new Map<string, SpanView>();
  private readonly _recentRing: (string | undefined)[];
  private _recentPos = 0;

  /** The span attributes billing reads: decoders keep only these (see billingAttributeFilter). */
  readonly keep: KeepAttribute;

  constructor(options: BillingOptions, spool: Spool, delivery: TransactionDelivery, metrics: Metrics) {
    this._o = options;
    this.keep = billingAttributeFilter(options.conversion);
    this._spool = spool;
    this._delivery = delivery;
    this._metrics = metrics;
    this._rootRing = new Array<string | undefined>(Math.max(1, options.maxTraces));
    this._recentRing = new Array<string | undefined>(Math.max(1, options.maxTraces));
    this._assembler = new TraceAssembler({
      waitMillis: options.waitMillis,
      maxTraces: options.maxTraces,
      maxSpansPerTrace: options.maxSpansPerTrace,
      onResolved: (spans, cause) => this._onResolved(spans, cause),
    });
    for (const [n, h] of [
      ['fenra_otel_llm_calls_total', 'Spans recognised as provider calls'],
      [
        'fenra_otel_transactions_total',
        'Transactions by outcome (queued, accepted, rejected, skipped reasons)',
      ],
      [
        'fenra_otel_estimated_usd_total',
        'Estimated USD of queued transactions by provider, model and customer',
      ],
      ['fenra_otel_traces_resolved_total', 'Traces resolved by cause'],
    ] as const)
      metrics.define(n, 'counter', h);
    metrics.gauge(
      'fenra_otel_pending_traces',
      'Traces held waiting for their root',
      () => this._assembler.stats().pendingTraces,
    );
    metrics.gauge(
      'fenra_otel_backlog_transactions',
      'Transactions waiting for room in the delivery queue',
      () => this._backlog.reduce((n, b) => n + b.txs.length, 0),
    );
  }

  /** Replays a previous run's spool (records in order); transactions already accepted are skipped. */
  replay(records: readonly { id: number; spans: SpanView[] }[], acked: Set<string>): void {
    this._acked = acked;
    for (const r of records) this._feed(r.id, r.spans, r.spans);
    this._kick();
  }

  /**
   * Takes the spans of one request. Resolves once what matters for billing is stored (on disk
   * with a disk spool), so the caller can acknowledge the request.
   */
  async ingest(spans: readonly SpanView[]): Promise<IngestOutcome> {
    const { record, feed, otherRoots, traces, completes } = this._select(spans);
    if (record.length === 0) {
      // Roots of traces with no LLM call (yet): remembered by the assembler for stragglers.
      if (otherRoots.length) this._assembler.add(otherRoots);
      return { status: 'ok', billable: 0 };
    }
    // A request completing held traces may use the spool's reserve: it lets their records leave.
    if (!this._spool.hasRoom(completes)) return { status: 'full', why: 'spool' };
    if (this._backlog.length > 0 && !this._drainBacklog()) return { status: 'full', why: 'queue' };
    // Requests still being written count as held for the ones arriving meanwhile, and are fed
    // to the assembler in arrival order, whichever write finishes first.
    for (const t of traces) this._incoming.set(t, (this._incoming.get(t) ?? 0) + 1);
    const appended = this._spool.append(record, completes);
    const previous = this._feedChain;
    let fed: Promise<boolean>;
    this._feedChain = fed = (async () => {
      let id: number;
      try {
        id = await appended;
        this._spoolRefused = false;
      } catch (e) {
        if (e instanceof SpoolFullError) this._spoolRefused = true;
        else log.error(`cannot write to the spool: ${(e as Error).message}`);
        return false;
      } finally {
        await previous;
      }
      this._feed(id, record, otherRoots.length ? [...feed, ...otherRoots] : feed);
      this._kick();
      return true;
    })().finally(() => {
      for (const t of traces) {
        const n = (this._incoming.get(t) ?? 1) - 1;
        if (n > 0) this._incoming.set(t, n);
        else this._incoming.delete(t);
      }
    });
    return (await fed) ? { status: 'ok', billable: record.length } : { status: 'full', why: 'spool' };
  }

  /** Resolves every held trace now (shutdown). */
  flushTraces(): void {
    this._assembler.flush();
  }

  /** No room for new traces (the reserve may still take requests completing held ones). */
  isFull(): boolean {
    return this._spoolRefused || !this._spool.hasRoom(false);
  }

  stop(): void {
    if (this._timer) clearTimeout(this._timer);
    this._timer = undefined;
  }

  /**
   * Splits a request: `record` is what billing needs (spooled), `feed` what goes to the
   * assembler with it (GenAI spans first, so a root earlier in the same request still finds its
   * trace held), `otherRoots` the root spans of traces holding no GenAI span, which the
   * assembler only remembers for GenAI spans arriving after their root. A GenAI span whose root
   * came earlier gets that root copied into its record, so a replay still attributes it; one
   * whose wrapping spans came earlier gets them added (from the recent spans) the same way.
   * `completes`: the request holds the root of a trace already held or being written.
   */
  private _select(spans: readonly SpanView[]): {
    record: SpanView[];
    feed: SpanView[];
    otherRoots: SpanView[];
    traces: Set<string>;
    completes: boolean;
  } {
    const feed: SpanView[] = [];
    const otherRoots: SpanView[] = [];
    const genAiTraces = new Set<string>();
    const isGenAi = new Uint8Array(spans.length);
    let completes = false;
    for (let i = 0; i < spans.length; i++) {
      const s = spans[i]!;
      if (mayBeGenAi(s)) {
        isGenAi[i] = 1;
        feed.push(slimSpan(s));
        genAiTraces.add(s.traceId);
        if (isLocalRoot(s) && this._isHeld(s.traceId)) completes = true;
      }
    }
    const genAiCount = feed.length;
    const rootsHere = new Set<string>();
    if (genAiCount < spans.length) {
      for (let i = 0; i < spans.length; i++) {
        if (isGenAi[i]) continue;
        const s = spans[i]!;
        // A span whose parent is in another process is this trace's root here (as the assembler sees it).
        const isRoot = isLocalRoot(s);
        const held = this._isHeld(s.traceId);
        if (genAiTraces.has(s.traceId) || held) {
          const slim = slimSpan(s);
          feed.push(slim);
          if (isRoot) {
            rootsHere.add(s.traceId);
            this._rememberRoot(slim);
            if (held) completes = true;
          }
        } else if (isRoot) {
          const slim = slimSpan(s);
          otherRoots.push(slim);
          this._rememberRoot(slim);
        } else this._rememberSpan(s);
      }
    }
    if (this._recent.size > 0) this._addRecentAncestors(feed, genAiCount);
    const traces = new Set<string>();
    for (const s of feed) traces.add(s.traceId);
    let record = feed;
    for (const t of genAiTraces) {
      if (rootsHere.has(t) || this._isHeld(t)) continue;
      const root = this._roots.get(t);
      if (root) {
        if (record === feed) record = [...feed];
        record.push(root);
      }
    }
    return { record, feed, otherRoots, traces, completes };
  }

  private _isHeld(traceId: string): boolean {
    return this._held.has(traceId) || this._incoming.has(traceId);
  }

  /**
   * Appends to `feed` the remembered spans on the parent chains of its first `genAiCount`
   * spans (stopping at a span already in the request or not remembered), once each.
   */
  private _addRecentAncestors(feed: SpanView[], genAiCount: number): void {
    let added: Set<string> | undefined;
    for (let i = 0; i < genAiCount; i++) {
      const s = feed[i]!;
      let parent = s.parentSpanId;
      // Bounded: a parent cycle cannot loop, a chain is at most the remembered spans.
      for (let steps = 0; parent !== undefined && steps < 64; steps++) {
        const a = this._recent.get(parent);
        if (a === undefined || a.traceId !== s.traceId || added?.has(parent)) break;
        (added ??= new Set()).add(parent);
        feed.push(slimSpan(a));
        parent = a.parentSpanId;
      }
    }
  }

  /** FIFO-bounded by a ring of span ids, like the roots. */
  private _rememberSpan(span: SpanView): void {
    const id = span.spanId;
    if (!this._recent.has(id)) {
      const old = this._recentRing[this._recentPos];
      if (old !== undefined) this._recent.delete(old);
      this._recentRing[this._recentPos] = id;
      this._recentPos = (this._recentPos + 1) % this._recentRing.length;
    }
    this._recent.set(id, span);
  }

  /** FIFO-bounded by a ring of trace ids (evicting through a Map iterator gets slow after many deletes). */
  private _rememberRoot(root: SpanView): void {
    const t = root.traceId;
    if (!this._roots.has(t)) {
      const old = this._rootRing[this._rootPos];
      if (old !== undefined) this._roots.delete(old);
      this._rootRing[this._rootPos] = t;
      this._rootPos = (this._rootPos + 1) % this._rootRing.length;
    }
    this._roots.set(t, root);
  }

  /** Registers the record's traces as held, then hands `feed` to the assembler. */
  private _feed(id: number, record: readonly SpanView[], feed: readonly SpanView[]): void {
    const traces = new Set(record.map((s) => s.traceId));
    this._refs.set(id, 1); // the feed's own reference, dropped below
    const now = Date.now();
    for (const t of traces) {
      let h = this._held.get(t);
      if (!h) this._held.set(t, (h = { records: new Set(), since: now }));
      if (!h.records.has(id)) {
        h.records.add(id);
        this._ref(id, 1);
      }
    }
    this._feeding = { id, traces };
    try {
      this._assembler.add(feed);
    } finally {
      this._feeding = undefined;
    }
    // Traces registered above that the assembler did not keep (all their spans resolved at once).
    this._ref(id, -1);
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

  private _onResolved(spans: SpanView[], cause: ResolveCause): void {
    const traceId = spans[0]?.traceId;
    if (traceId === undefined) return;
    this._metrics.add('fenra_otel_traces_resolved_total', 1, { cause });
    const h = this._held.get(traceId);
    this._held.delete(traceId);
    const records = h ? [...h.records] : [];
    const f = this._feeding;
    if (f && f.traces.has(traceId) && !h?.records.has(f.id)) {
      records.push(f.id);
      this._ref(f.id, 1);
    }
    const group: Group = { records, outstanding: 0, acks: [], scheduled: false };
    let result;
    try {
      result = toTransactions(spans, this._o.conversion);
    } catch (e) {
      log.error(`conversion failed for trace ${traceId}: ${(e as Error).message}`);
      this._metrics.add('fenra_otel_transactions_total', 1, { outcome: 'conversion_error' });
      this._release(group);
      return;
    }
    this._metrics.add('fenra_otel_llm_calls_total', result.llmCalls);
    for (const s of result.skipped) {
      if (s.reason !== 'not_genai')
        this._metrics.add('fenra_otel_transactions_total', 1, { outcome: `skipped_${s.reason}` });
    }
    const txs: PricedTransaction[] = [];
    for (const t of result.transactions) {
      const key = txKey(t);
      if (this._acked.has(key)) continue;
      if (this._billed.has(key)) {
        this._metrics.add('fenra_otel_transactions_total', 1, { outcome: 'skipped_duplicate' });
        continue;
      }
      this._billed.add(key);
      txs.push(t);
    }
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
      const c = t.transaction.context as Record<string, unknown>;
      const customer = typeof c['billable_customer_id'] === 'string' ? c['billable_customer_id'] : 'unknown';
      if (t.price.usd !== null) {
        this._metrics.add('fenra_otel_estimated_usd_total', t.price.usd, {
          provider: t.transaction.provider,
          model: t.transaction.model,
          customer,
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
        (e: unknown) => log.error(`cannot write the spool ack log: ${(e as Error).message}`),
      );
    } else if (done) this._release(group);
    if (this._backlog.length) this._drainBacklog();
  }

  private _release(group: Group): void {
    for (const r of group.records) this._ref(r, -1);
    group.records = [];
  }

  /** Keeps one timer for the assembler's next deadline (moved earlier when needed) and the sweep. */
  private _kick(): void {
    const next = this._assembler.nextDeadline();
    if (next === undefined && this._held.size === 0) return;
    const at = Math.max(Date.now() + 10, next ?? Date.now() + this._o.waitMillis);
    if (this._timer) {
      if (this._timerAt <= at) return;
      clearTimeout(this._timer);
    }
    this._timerAt = at;
    this._timer = setTimeout(() => {
      this._timer = undefined;
      this._assembler.expire();
      this._sweep();
      if (this._backlog.length) this._drainBacklog();
      this._kick();
    }, at - Date.now());
    this._timer.unref?.();
  }

  /** Drops holds the assembler no longer has (a trace resolved mid-request by overflow). */
  private _sweep(): void {
    const stale = Date.now() - 2 * this._o.waitMillis - 1000;
    for (const [t, h] of this._held) {
      if (h.since > stale) continue;
      this._held.delete(t);
      for (const r of h.records) this._ref(r, -1);
    }
  }
}
