import { billingAttributeFilter } from '../genai/billing-keys.js';
import type { ConversionOptions } from '../genai/convert-trace.js';
import { convertTrace } from '../genai/convert-trace.js';
import { responseKey } from '../genai/dedupe.js';
import { mayBeGenAi } from '../genai/detect.js';
import type { SkippedSpan } from '../genai/types.js';
import { priceCall } from '../pricing/price-call.js';
import type { Pricer } from '../pricing/types.js';
import type { SpanView } from '../span/span-view.js';
import { isLocalRoot } from '../span/span-view.js';
import type { AncestorSource } from './ancestor-source.js';
import type { ConversionStats } from './conversion-stats.js';
import { countBilled, countSkip, emptyConversionStats } from './conversion-stats.js';
import type { PricedTransaction } from './priced-transaction.js';
import { SpanMemory } from './span-memory.js';
import { ancestorIds, hasSpanId, SpanGroup, spanIds } from './span-group.js';
import { TraceDecisions } from './trace-decisions.js';
import type { HeldTrace, HoldLimits, ResolveCause } from './trace-holder.js';
import { RESOLVE_CAUSES, TraceHolder } from './trace-holder.js';

/** The defaults of trace holding, the same in every mode. */
export const HOLD_DEFAULTS: HoldLimits = {
  waitMillis: 10_000,
  settleMillis: 1_000,
  maxTraces: 10_000,
  maxSpansPerTrace: 1_000,
  maxHeldSpans: 100_000,
};

export interface StageOptions<Tag> extends Partial<HoldLimits> {
  conversion: ConversionOptions;
  pricer: Pricer;
  /** Spans of traces not held remembered for later calls (out of process). Default `maxTraces`. */
  rememberSpans?: number;
  /** Resolved traces whose decisions are remembered. Default `maxTraces`. */
  rememberTraces?: number;
  /** Where spans not held are found again. Default: a {@link SpanMemory}. */
  ancestors?: AncestorSource;
  /** Clock, epoch ms. */
  now?: () => number;
  /** Every resolution, with its transactions; called synchronously, must not throw. */
  onResult: (result: StageResult<Tag>) => void;
}

/** What one resolution of a trace (or of spans of it arriving late) billed and skipped. */
export interface StageResult<Tag> {
  traceId: string;
  cause: ResolveCause;
  /** The tags of the deliveries whose spans it decided (each once per trace). */
  tags: readonly Tag[];
  transactions: PricedTransaction[];
  /** Why each call-like span it decided was billed nothing (`not_genai` left out). */
  skipped: SkippedSpan[];
}

/** One delivery's spans as billing needs them (see {@link ConversionStage.admit}). */
export interface Admission {
  /** Spans to hold: calls first, then the other spans of their traces and of held traces. */
  spans: SpanView[];
  /** Copies of spans that arrived before (roots, ancestors), for a durable record. */
  context: SpanView[];
  /** It holds the root of a trace already held: it completes work rather than adding to it. */
  completes: boolean;
  /** Its traces, registered as incoming until `add` or `abandon`. */
  readonly traces: readonly string[];
}

const NO_SPANS: readonly SpanView[] = Object.freeze([]);

/** Most ancestors fetched for one call from outside the held spans (a parent chain). */
const MAX_FETCHED_ANCESTORS = 64;

/**
 * THE conversion stage, used by every entry point (processor, exporter, register, sidecar,
 * convert): trace holding, attribution, de-duplication, conversion and pricing, with the billing
 * rules written down in ARCHITECTURE.md. Spans go in by delivery (`ingest`, or `admit` then
 * `add` where a delivery is stored first); priced transactions come out through `onResult`.
 * Time is injected; the owner runs `expire()` at `nextDeadline()` (see {@link StageTimer}).
 * Never throws on any span.
 */
export class ConversionStage<Tag = never> {
  readonly stats: ConversionStats = emptyConversionStats();
  readonly resolved: Record<ResolveCause, number> = { root: 0, timeout: 0, overflow: 0, flush: 0 };
  private readonly _o: StageOptions<Tag>;
  private readonly _holder: TraceHolder<Tag>;
  private readonly _source: AncestorSource;
  private readonly _decisions: TraceDecisions;
  /** Traces of deliveries being stored, by how many. Made again when it empties (see `_release`). */
  private _incoming = new Map<string, number>();

  constructor(options: StageOptions<Tag>) {
    this._o = options;
    const limits: HoldLimits = { ...HOLD_DEFAULTS };
    for (const k of Object.keys(HOLD_DEFAULTS) as (keyof HoldLimits)[]) {
      const v = options[k];
      if (v !== undefined) limits[k] = v;
    }
    this._source =
      options.ancestors ??
      new SpanMemory(options.rememberSpans ?? limits.maxTraces, billingAttributeFilter(options.conversion));
    this._decisions = new TraceDecisions(options.rememberTraces ?? limits.maxTraces);
    this._holder = new TraceHolder<Tag>(
      limits,
      options.now ?? Date.now,
      (t, cause) => this._resolve(t, cause),
      (s) => this._source.remember(s),
    );
  }

  get heldTraces(): number {
    return this._holder.heldTraces;
  }

  get heldSpans(): number {
    return this._holder.heldSpans;
  }

  /** A trace is held, or a delivery of it is being stored. */
  isHeld(traceId: string): boolean {
    return this._holder.has(traceId) || this._incoming.has(traceId);
  }

  /** Takes one delivery (spans of any traces, any order). */
  ingest(spans: readonly SpanView[]): void {
    this._holder.add(this._pick(spans).picked, NO_SPANS, undefined, this._rootOf);
  }

  /**
   * Picks what billing needs of one delivery (every span not picked is remembered for later
   * calls) and registers its traces as incoming. With `withContext`, copies of the roots and
   * ancestors that arrived before are added, so that a stored delivery converts alone the same.
   */
  admit(spans: readonly SpanView[], withContext: boolean): Admission {
    const { picked, calls, callTraces, rootsHere, completes } = this._pick(spans);
    const context = withContext ? this._contextFor(picked, calls, callTraces, rootsHere) : [];
    const traces = [...new Set(picked.map((s) => s.traceId))];
    for (const t of traces) this._incoming.set(t, (this._incoming.get(t) ?? 0) + 1);
    return { spans: picked, context, completes, traces };
  }

  /** Holds an admitted delivery (resolving what it completes); returns how many traces took `tag`. */
  add(admission: Admission, tag?: Tag): number {
    this._release(admission);
    const context = admission.context;
    if (context.length === 0) return this._holder.add(admission.spans, context, tag, this._rootOf);
    const rootOf = (s: SpanView): SpanView | undefined => {
      for (const c of context) if (c.traceId === s.traceId && isLocalRoot(c)) return c;
      return this._source.rootOf(s);
    };
    return this._holder.add(admission.spans, context, tag, rootOf);
  }

  private readonly _rootOf = (s: SpanView): SpanView | undefined => this._source.rootOf(s);

  /** Calls first, then the other spans of their traces and of held traces; the rest is remembered. */
  private _pick(spans: readonly SpanView[]): {
    picked: SpanView[];
    calls: number;
    callTraces: Set<string>;
    rootsHere: Set<string>;
    completes: boolean;
  } {
    const picked: SpanView[] = [];
    const callTraces = new Set<string>();
    const rootsHere = new Set<string>();
    let completes = false;
    let others: SpanView[] | undefined;
    for (const s of spans) {
      if (!mayBeGenAi(s)) {
        (others ??= []).push(s);
        continue;
      }
      picked.push(s);
      callTraces.add(s.traceId);
      if (isLocalRoot(s) && this.isHeld(s.traceId)) completes = true;
    }
    const calls = picked.length;
    if (others !== undefined) {
      for (const s of others) {
        const held = this.isHeld(s.traceId);
        if (held || callTraces.has(s.traceId)) {
          picked.push(s);
          if (isLocalRoot(s)) {
            rootsHere.add(s.traceId);
            if (held) completes = true;
          }
        } else this._source.remember(s);
      }
    }
    return { picked, calls, callTraces, rootsHere, completes };
  }

  /** Forgets an admitted delivery that could not be stored. */
  abandon(admission: Admission): void {
    this._release(admission);
  }

  /** Resolves the traces whose wait expired. */
  expire(): void {
    this._holder.expire();
  }

  /** Resolves everything held. */
  flush(): void {
    this._holder.flush();
  }

  nextDeadline(): number | undefined {
    return this._holder.nextDeadline();
  }

  private _release(admission: Admission): void {
    const incoming = this._incoming;
    for (const t of admission.traces) {
      const n = (incoming.get(t) ?? 1) - 1;
      if (n > 0) incoming.set(t, n);
      else incoming.delete(t);
    }
    // Emptied after almost every request of a sidecar: a new map starts young, where the old
    // one's tables, grown and shrunk by each request, outlived the young generation (as the
    // trace holder's maps did, see TraceHolder._resolve).
    if (incoming.size === 0) this._incoming = new Map();
  }

  /** Remembered roots and ancestors of the delivery's calls that it does not carry itself. */
  private _contextFor(
    picked: readonly SpanView[],
    calls: number,
    callTraces: ReadonlySet<string>,
    rootsHere: ReadonlySet<string>,
  ): SpanView[] {
    const context: SpanView[] = [];
    const here = new Set(picked.map((s) => s.spanId));
    for (let i = 0; i < calls; i++) {
      let s = picked[i]!;
      for (let steps = 0; steps < MAX_FETCHED_ANCESTORS && !isLocalRoot(s); steps++) {
        const p = s.parentSpanId!;
        if (here.has(p)) break;
        const a = this._source.parentOf(s);
        if (a === undefined) break;
        here.add(a.spanId);
        context.push(a);
        s = a;
      }
    }
    for (const t of callTraces) {
      if (rootsHere.has(t) || this._holder.has(t)) continue;
      const root = this._source.rootOf(picked.find((s) => s.traceId === t)!);
      if (root !== undefined && !here.has(root.spanId)) context.push(root);
    }
    return context;
  }

  /** Converts and prices a resolved trace; remembers its spans and what it billed. */
  private _resolve(t: HeldTrace<Tag>, cause: ResolveCause): void {
    this.resolved[cause]++;
    const group = this._groupOf(t, cause);
    // Only the spans that arrived are decided on: context spans were decided when they arrived.
    const subjects = spanIds(t.spans);
    // Most resolutions bill one call and skip none: lists of one, not grown by push from
    // empty (which reserves room for 16).
    let transactions: PricedTransaction[] | undefined;
    let skipped: SkippedSpan[] | undefined;
    let decisions = this._decisions.get(t.traceId);
    const conversion = convertTrace(group.spans, this._o.conversion, decisions);
    const stats = this.stats;
    for (const s of conversion.skipped) {
      if (s.reason === 'not_genai' || !hasSpanId(subjects, s.spanId)) continue;
      countSkip(stats, s.reason);
      if (skipped === undefined) skipped = [s];
      else skipped.push(s);
    }
    for (const c of conversion.calls) {
      const call = c.call;
      if (!hasSpanId(subjects, call.span.spanId)) continue;
      const tx: PricedTransaction = {
        provider: call.provider.fenra,
        model: call.model,
        modelTier: call.modelTier,
        usage: call.usage,
        context: c.context,
        price: priceCall(this._o.pricer, call),
        span: { traceId: call.span.traceId, spanId: call.span.spanId, name: call.span.name },
        endTimeMs: call.span.endTimeMs,
      };
      countBilled(stats, tx, c.attributed);
      if (transactions === undefined) transactions = [tx];
      else transactions.push(tx);
      decisions = this._decisions.billed(
        t.traceId,
        decisions,
        call.span.spanId,
        ancestorIds(call.span, group),
        responseKey(call),
      );
    }
    const result: StageResult<Tag> = {
      traceId: t.traceId,
      cause,
      tags: t.tags,
      transactions: transactions ?? [],
      skipped: skipped ?? [],
    };
    for (const s of t.spans) this._source.remember(s);
    this._o.onResult(result);
  }

  /** The trace's spans, its context, and the ancestors of its calls known from outside. */
  private _groupOf(t: HeldTrace<Tag>, cause: ResolveCause): SpanGroup {
    const group = new SpanGroup(t.spans);
    for (const c of t.context) if (!group.has(c.spanId)) group.add(c);
    const spans = group.spans;
    const arrived = spans.length;
    for (let i = 0; i < arrived; i++) {
      let s = spans[i]!;
      for (let steps = 0; steps < MAX_FETCHED_ANCESTORS && !isLocalRoot(s); steps++) {
        if (group.has(s.parentSpanId!)) break;
        const a = this._source.parentOf(s, cause);
        if (a === undefined) break;
        group.add(a);
        s = a;
      }
    }
    if (!spans.some(isLocalRoot)) {
      const root = this._source.rootOf(spans[0]!, cause);
      if (root !== undefined && !group.has(root.spanId)) group.add(root);
    }
    return group;
  }
}

export { RESOLVE_CAUSES };
