import { renderTransaction, validateTransaction } from '../fenra/render-transaction.js';
import type { PriceResult, Pricer } from '../pricing/types.js';
import type { Attributes, SpanView } from '../span/span-view.js';
import { isLocalRoot } from '../span/span-view.js';
import type { AttributionLayers, ContextOptions } from './context.js';
import { resolveContext } from './context.js';
import type { DetectedSpan } from './dedupe.js';
import { dedupeTrace } from './dedupe.js';
import type { DetectOptions } from './detect.js';
import { detectModelCall } from './detect.js';
import type { PricedTransaction } from './priced-transaction.js';
import type { ModelCall, SkipReason, SkippedSpan } from './types.js';

export interface ConversionOptions extends ContextOptions, DetectOptions {
  pricer: Pricer;
  /** Validate every transaction against the wire schema (default true). */
  validate?: boolean;
}

export type CallOutcome = { transaction: PricedTransaction; attributed: boolean } | { skipped: SkippedSpan };

/** Prices one call; never throws (a pricer failure is an unpriced transaction). */
function priceCall(pricer: Pricer, call: ModelCall & { model: string }, timestampMs: number): PriceResult {
  try {
    const result = pricer.price({
      provider: call.provider.fenra,
      canonicalProvider: call.provider.canonical,
      model: call.model,
      usage: call.usage!,
      modelTier: call.modelTier,
      timestampMs,
    });
    // Absurd counts (1e308 tokens) can overflow a price: never report Infinity or NaN as a cost.
    if (result.usd !== null && !(Number.isFinite(result.usd) && result.usd >= 0)) {
      return { ...result, usd: null, source: 'unpriced', reason: 'invalid_usage' };
    }
    return result;
  } catch {
    return { usd: null, source: 'unpriced', reason: 'pricing_error', catalog: 'unknown' };
  }
}

/**
 * Attribution, rendering, validation and pricing of one detected call. Used by `toTransactions`
 * (whole traces) and by the span processor (one span at a time, with carried attribution).
 */
export function convertModelCall(
  call: ModelCall,
  layers: AttributionLayers,
  options: ConversionOptions,
): CallOutcome {
  const span = call.span;
  if (call.model === undefined || call.usage === undefined) {
    return {
      skipped: { traceId: span.traceId, spanId: span.spanId, name: span.name, reason: 'missing_usage' },
    };
  }
  const withModel = call as ModelCall & { model: string; usage: NonNullable<ModelCall['usage']> };
  const { context, attributed } = resolveContext(call, layers, options);
  const transaction = renderTransaction(withModel, context);
  if (options.validate !== false) {
    const problem = validateTransaction(transaction);
    if (problem !== undefined) {
      return {
        skipped: {
          traceId: span.traceId,
          spanId: span.spanId,
          name: span.name,
          reason: 'invalid',
          detail: problem,
        },
      };
    }
  }
  return {
    attributed,
    transaction: {
      transaction,
      price: priceCall(options.pricer, withModel, span.endTimeMs),
      span: { traceId: span.traceId, spanId: span.spanId, name: span.name },
      endTimeMs: span.endTimeMs,
    },
  };
}

export interface ConversionResult {
  transactions: PricedTransaction[];
  skipped: SkippedSpan[];
  /** Spans read. */
  spans: number;
  /** Spans recognised as provider calls (billed or not). */
  llmCalls: number;
  /** Transactions billed to `unattributed`. */
  unattributed: number;
}

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

const CALL_REASONS: ReadonlySet<SkipReason> = new Set([
  'missing_usage',
  'failed_no_usage',
  'missing_model',
  'invalid',
]);

/**
 * The pure converter: spans (any number of traces, any order) → priced transactions, plus a
 * reason for every span that produced none. Attribution walks each span's ancestors in its
 * trace; dedupe runs per trace.
 */
export function toTransactions(spans: Iterable<SpanView>, options: ConversionOptions): ConversionResult {
  const traces = new Map<string, TraceIndex>();
  const repeats: SkippedSpan[] = [];
  let count = 0;
  for (const span of spans) {
    count++;
    let trace = traces.get(span.traceId);
    if (trace === undefined) {
      trace = { entries: [], byId: new Map(), root: undefined, roots: 0 };
      traces.set(span.traceId, trace);
    } else if (trace.byId.has(span.spanId)) {
      // One span record delivered twice (an exporter retry) is one span: bill it once.
      repeats.push(receivedAgain(span));
      continue;
    }
    trace.byId.set(span.spanId, span);
    if (isLocalRoot(span)) {
      trace.root = span;
      trace.roots++;
    }
    const d = detectModelCall(span, options);
    trace.entries.push('call' in d ? { span, call: d.call } : { span, skipped: d.skipped });
  }
  const result: ConversionResult = {
    transactions: [],
    skipped: repeats,
    spans: count,
    llmCalls: 0,
    unattributed: 0,
  };
  for (const trace of traces.values()) {
    const entries = trace.entries;
    dedupeTrace(entries);
    for (const e of entries) {
      if (e.call) {
        result.llmCalls++;
        const out = convertModelCall(e.call, layersFor(e.span, trace), options);
        if ('skipped' in out) result.skipped.push(out.skipped);
        else {
          result.transactions.push(out.transaction);
          if (!out.attributed) result.unattributed++;
        }
      } else if (e.skipped) {
        if (CALL_REASONS.has(e.skipped.reason)) result.llmCalls++;
        result.skipped.push(e.skipped);
      }
    }
  }
  return result;
}

/** One trace's spans, as `toTransactions` reads them. */
interface TraceIndex {
  entries: DetectedSpan[];
  byId: Map<string, SpanView>;
  /** A local root span (no parent, or a remote one) and how many: only a single root is used. */
  root: SpanView | undefined;
  roots: number;
}

/**
 * The span's ancestors, nearest first. When the chain breaks (a span between the call and the
 * root was dropped by a sampler or a Collector filter, or never arrived), the trace's single
 * root, which usually carries the request's customer, is still consulted, last. A chain longer
 * than the trace has spans is a cycle in the ids: the walk stops.
 */
function layersFor(span: SpanView, trace: TraceIndex): AttributionLayers {
  const ancestors: Attributes[] = [];
  let p = span.parentSpanId;
  let reachedRoot = isLocalRoot(span);
  let rootSeen = false;
  const root = trace.roots === 1 ? trace.root : undefined;
  for (let steps = trace.byId.size; !reachedRoot && p !== undefined && steps > 0; steps--) {
    const a = trace.byId.get(p);
    if (a === undefined || a === span) break;
    ancestors.push(a.attributes);
    if (a === root) rootSeen = true;
    p = a.parentSpanId;
    if (isLocalRoot(a)) reachedRoot = true;
  }
  if (!reachedRoot && root !== undefined && !rootSeen) ancestors.push(root.attributes);
  return { span: span.attributes, ancestors, resource: span.resource };
}
