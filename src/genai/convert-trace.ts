import type { SpanView } from '../span/span-view.js';
import { findSpan, isLocalRoot, SPAN_SCAN_LIMIT } from '../span/span-view.js';
import type { BillableLimits } from './billable-check.js';
import { unbillableReason } from './billable-check.js';
import type { AttributionLayers, ContextOptions, TransactionContext } from './context.js';
import { resolveContext } from './context.js';
import type { DetectedSpan, PriorDecisions } from './dedupe.js';
import { dedupeTrace } from './dedupe.js';
import type { DetectOptions } from './detect.js';
import { detectModelCall, mayBeGenAi } from './detect.js';
import { splitFromAggregates } from './split-from-aggregate.js';
import type { Attributes } from '../span/span-view.js';
import type { ModelCall, SkipReason, SkippedSpan, Usage } from './types.js';

export interface ConversionOptions extends ContextOptions, DetectOptions, BillableLimits {
  /**
   * Baggage entries in force where a span started, as an attribution layer between its
   * ancestors and the resource: known in process only (exported spans carry no baggage).
   */
  baggageOf?: ((span: SpanView) => Attributes | undefined) | undefined;
}

/** A provider call to bill: the call as detected, and where it is billed (attribution). */
export interface BillableCall {
  call: ModelCall & { model: string; usage: Usage };
  context: TransactionContext;
  /** False when the customer came from no key and no default (billed to `unattributed`). */
  attributed: boolean;
}

/** One trace's (or one group of its spans') decisions. */
export interface TraceConversion {
  calls: BillableCall[];
  /**
   * Why each span that could be a model call is billed nothing (spans without any GenAI
   * attribute, `not_genai`, are left out).
   */
  skipped: SkippedSpan[];
}

/** The reasons that still count a span as a provider call (billed nothing, but a call). */
export const CALL_REASONS: ReadonlySet<SkipReason> = new Set([
  'missing_usage',
  'failed_no_usage',
  'missing_model',
  'invalid_usage',
  'invalid',
]);

/** Why a span received a second time produces nothing. */
export function receivedAgain(span: SpanView): SkippedSpan {
  return {
    traceId: span.traceId,
    spanId: span.spanId,
    name: span.name,
    reason: 'duplicate',
    detail: 'the same span was received more than once',
  };
}

/**
 * The billing rules of one trace, pure: detection of each span, one bill per provider call
 * (dedupe, with the trace's earlier decisions when part of it was billed before), a call's
 * missing cache/reasoning split taken from an aggregate repeating that one call
 * (split-from-aggregate.ts), and attribution along each call's ancestors. `spans` are the
 * spans of ONE trace that matter for billing: its calls and their ancestors (other spans change
 * nothing). Never throws.
 */
export function convertTrace(
  spans: readonly SpanView[],
  options: ConversionOptions,
  prior?: PriorDecisions,
): TraceConversion {
  const trace = indexTrace(spans);
  const all = trace.spans;
  // Of the exact size: most traces are a few spans, and an array grown by push from empty
  // reserves room for 16.
  const entries = new Array<DetectedSpan>(all.length);
  for (let i = 0; i < all.length; i++) {
    const span = all[i]!;
    // Most spans of a trace (its root, the spans between) are no model call: nothing to decide.
    if (!mayBeGenAi(span)) {
      entries[i] = { span, call: undefined, skipped: undefined, aggregateUsage: undefined };
      continue;
    }
    const d = detectModelCall(span, options);
    if ('call' in d) entries[i] = { span, call: d.call, skipped: undefined, aggregateUsage: undefined };
    else entries[i] = { span, call: undefined, skipped: d.skipped, aggregateUsage: d.aggregateUsage };
  }
  dedupeTrace(entries, prior);
  splitFromAggregates(entries);
  const skipped = trace.repeats;
  let calls: BillableCall[] | undefined;
  for (const e of entries) {
    if (e.call) {
      const layers = layersFor(e.span, trace, options.baggageOf?.(e.span));
      const { context, attributed } = resolveContext(e.call, layers, options);
      const call = e.call as BillableCall['call'];
      const problem = unbillableReason(call, context, options);
      if (problem !== undefined) {
        const s = e.span;
        skipped.push({ traceId: s.traceId, spanId: s.spanId, name: s.name, ...problem });
        continue;
      }
      // Most traces bill one call: a list of one, not one with room for 16.
      const billable: BillableCall = { call, context, attributed };
      if (calls === undefined) calls = [billable];
      else calls.push(billable);
    } else if (e.skipped) skipped.push(e.skipped);
  }
  return { calls: calls ?? [], skipped };
}

/** One trace's spans, as the converter reads them. */
interface TraceIndex {
  /** Each span once (the first given of an id). */
  spans: readonly SpanView[];
  /** The spans by id, for a trace of more than {@link SPAN_SCAN_LIMIT} spans (fewer are scanned). */
  byId: Map<string, SpanView> | undefined;
  /** A local root span (no parent, or a remote one) and how many: only a single root is used. */
  root: SpanView | undefined;
  roots: number;
  /** Spans given more than once (an exporter retry): one span, billed once. */
  repeats: SkippedSpan[];
}

function indexTrace(spans: readonly SpanView[]): TraceIndex {
  const t: TraceIndex = { spans, byId: undefined, root: undefined, roots: 0, repeats: [] };
  let unique: SpanView[] | undefined;
  if (spans.length > SPAN_SCAN_LIMIT) {
    t.byId = new Map();
    unique = [];
  }
  for (let i = 0; i < spans.length; i++) {
    const span = spans[i]!;
    if (t.byId !== undefined ? t.byId.has(span.spanId) : findSpan(spans, span.spanId, i) !== undefined) {
      t.repeats.push(receivedAgain(span));
      // A few spans with a repeat: the ones before it, then each first one.
      unique ??= spans.slice(0, i);
      continue;
    }
    t.byId?.set(span.spanId, span);
    unique?.push(span);
    if (isLocalRoot(span)) {
      t.root = span;
      t.roots++;
    }
  }
  if (unique !== undefined) t.spans = unique;
  return t;
}

const spanById = (trace: TraceIndex, id: string): SpanView | undefined =>
  trace.byId !== undefined ? trace.byId.get(id) : findSpan(trace.spans, id);

/**
 * The span's ancestors, nearest first. When the chain breaks (a span between the call and the
 * root was dropped by a sampler or a Collector filter, or never arrived), the trace's single
 * root, which usually carries the request's customer, is still consulted, last. A chain longer
 * than the trace has spans is a cycle in the ids: the walk stops.
 */
function layersFor(span: SpanView, trace: TraceIndex, baggage: Attributes | undefined): AttributionLayers {
  // No more ancestors than spans: a small trace's list is made at its most (then cut), not
  // grown by push from empty (which reserves room for 16).
  const few = trace.spans.length <= SPAN_SCAN_LIMIT;
  const ancestors = few ? new Array<SpanView['attributes']>(trace.spans.length) : [];
  let n = 0;
  let p = span.parentSpanId;
  let reachedRoot = isLocalRoot(span);
  let rootSeen = false;
  const root = trace.roots === 1 ? trace.root : undefined;
  for (let steps = trace.spans.length; !reachedRoot && p !== undefined && steps > 0; steps--) {
    const a = spanById(trace, p);
    if (a === undefined || a === span) break;
    ancestors[n++] = a.attributes;
    if (a === root) rootSeen = true;
    p = a.parentSpanId;
    if (isLocalRoot(a)) reachedRoot = true;
  }
  if (!reachedRoot && root !== undefined && !rootSeen) ancestors[n++] = root.attributes;
  ancestors.length = n;
  return { span: span.attributes, ancestors, baggage, resource: span.resource };
}
