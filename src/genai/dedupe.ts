import type { SpanView } from '../span/span-view.js';
import { sameCounts, takeSplit } from './split-from-aggregate.js';
import type { ModelCall, SkippedSpan, Usage } from './types.js';

/**
 * A span of one trace after detection. Every field is always present (undefined when not
 * set), and set to undefined rather than deleted: one object shape for all entries.
 */
export interface DetectedSpan {
  span: SpanView;
  call: ModelCall | undefined;
  skipped: SkippedSpan | undefined;
  /** The usage an aggregate repeats (never billed; read by split-from-aggregate.ts). */
  aggregateUsage: Usage | undefined;
}

/**
 * What was already decided for a trace in an earlier resolution (its calls were billed before
 * this span arrived): the spans billed, the spans above them, and the provider responses billed.
 * Span ids, and `provider/response id` keys.
 */
export interface PriorDecisions {
  /** A span billed before. */
  isBilled(spanId: string): boolean;
  /** A span above a call billed before. */
  isWrapping(spanId: string): boolean;
  /** A provider response billed before (`provider/response id`, see {@link responseKey}). */
  isResponse(key: string): boolean;
}

const isCallWithoutUsage = (d: DetectedSpan): boolean =>
  d.skipped?.reason === 'missing_usage' || d.skipped?.reason === 'failed_no_usage';

/** A call, billed or not, which a wrapper or a repeat can be. */
const isCall = (d: DetectedSpan): boolean => d.call !== undefined || isCallWithoutUsage(d);

function markSkipped(d: DetectedSpan, reason: 'aggregate' | 'duplicate', detail: string): void {
  const s = d.span;
  d.skipped = { traceId: s.traceId, spanId: s.spanId, name: s.name, reason, detail };
  // A wrapper repeats its call's usage: it is an aggregate of that one call.
  if (reason === 'aggregate' && d.call?.usage !== undefined) d.aggregateUsage = d.call.usage;
  d.call = undefined;
}

/** The key under which one provider response is recognised when seen twice. */
export const responseKey = (call: ModelCall): string | undefined =>
  call.responseId === undefined ? undefined : `${call.provider.fenra}/${call.responseId}`;

/**
 * One provider call is billed once. Within one trace:
 * 1. a model-call span with a model-call descendant that has usage wraps that call (a
 *    framework span over a client span, two instrumentations of one call): the descendant is
 *    billed, the wrapper is an aggregate;
 * 2. a model-call span without usage whose ancestor or descendant call has usage was billed
 *    there: a duplicate, not a missing-usage report;
 * 3. two remaining calls with the same provider response id are one call seen twice: the
 *    deeper one is billed, with the parts (cache split, reasoning) only the other one states
 *    when both state the same input and output.
 * With `prior` (spans arriving after part of their trace was billed), the earlier decisions
 * stand: a span billed before is a duplicate (received again); a call above a call billed
 * before is an aggregate (or a duplicate without usage); a call below one, or repeating a
 * response billed before, is a duplicate.
 * Mutates the entries' call/skipped fields. Independent calls in one trace are all kept.
 */
export function dedupeTrace(entries: DetectedSpan[], prior?: PriorDecisions): void {
  // Every rule compares two calls of the trace, or a call with the earlier decisions: a trace
  // of one call (most are) has nothing to decide.
  if (prior === undefined) {
    let calls = 0;
    for (const e of entries) if (isCall(e)) calls++;
    if (calls < 2) return;
  }
  const byId = new Map<string, DetectedSpan>();
  for (const e of entries) byId.set(e.span.spanId, e);
  // Walks stop at a missing parent, and after as many steps as the trace has spans (a cycle in
  // the ids).
  const limit = entries.length;
  const parentOf = (e: DetectedSpan): DetectedSpan | undefined => {
    const p = e.span.parentSpanId;
    return p === undefined ? undefined : byId.get(p);
  };
  const depthOf = (e: DetectedSpan): number => {
    let depth = 0;
    let p = e.span.parentSpanId;
    while (p !== undefined && depth < limit) {
      depth++;
      p = byId.get(p)?.span.parentSpanId;
    }
    return depth;
  };

  if (prior !== undefined) applyPrior(entries, prior, parentOf, limit);

  // 1 and (half of) 2: walk up from every call with usage.
  let wrapping: Set<DetectedSpan> | undefined;
  for (const e of entries) {
    if (!e.call) continue;
    let a = parentOf(e);
    for (let steps = limit; a !== undefined && a !== e && steps > 0; steps--) {
      if (isCall(a)) (wrapping ??= new Set()).add(a);
      a = parentOf(a);
    }
  }
  if (wrapping !== undefined) {
    for (const a of wrapping) {
      if (a.call) markSkipped(a, 'aggregate', 'wraps a model call billed on a descendant span');
      else markSkipped(a, 'duplicate', 'the call is billed on a descendant span that has its usage');
    }
  }
  // 2, the other half: a call without usage under a billed call.
  for (const e of entries) {
    if (!isCallWithoutUsage(e)) continue;
    let a = parentOf(e);
    for (let steps = limit; a !== undefined && a !== e && steps > 0; steps--) {
      if (a.call) {
        markSkipped(e, 'duplicate', `the call is billed on ancestor span ${a.span.spanId}`);
        break;
      }
      a = parentOf(a);
    }
  }
  // 3: one provider response seen twice (siblings from two instrumentations).
  let byResponse: Map<string, DetectedSpan> | undefined;
  for (const e of entries) {
    const key = e.call ? responseKey(e.call) : undefined;
    if (key === undefined) continue;
    byResponse ??= new Map();
    const prev = byResponse.get(key);
    if (!prev) {
      byResponse.set(key, e);
      continue;
    }
    const [keep, drop] = depthOf(e) > depthOf(prev) ? [e, prev] : [prev, e];
    const kept = keep.call!.usage;
    const dropped = drop.call!.usage;
    if (kept !== undefined && dropped !== undefined && sameCounts(kept, dropped)) takeSplit(kept, dropped);
    markSkipped(
      drop,
      'duplicate',
      `same provider response ${e.call!.responseId} as span ${keep.span.spanId}`,
    );
    byResponse.set(key, keep);
  }
}

/** The earlier decisions of the trace, applied first: they cannot be taken back. */
function applyPrior(
  entries: DetectedSpan[],
  prior: PriorDecisions,
  parentOf: (e: DetectedSpan) => DetectedSpan | undefined,
  limit: number,
): void {
  for (const e of entries) {
    if (!isCall(e)) continue;
    const id = e.span.spanId;
    if (prior.isBilled(id)) {
      markSkipped(e, 'duplicate', 'the same span was received more than once');
      continue;
    }
    if (prior.isWrapping(id)) {
      if (e.call) markSkipped(e, 'aggregate', 'wraps a model call billed earlier on a descendant span');
      else markSkipped(e, 'duplicate', 'the call was billed earlier on a descendant span');
      continue;
    }
    const key = e.call ? responseKey(e.call) : undefined;
    if (key !== undefined && prior.isResponse(key)) {
      markSkipped(e, 'duplicate', `provider response ${e.call!.responseId} was billed earlier in this trace`);
      continue;
    }
    let a = parentOf(e);
    for (let steps = limit; a !== undefined && a !== e && steps > 0; steps--) {
      if (prior.isBilled(a.span.spanId)) {
        markSkipped(e, 'duplicate', `the call was billed earlier on ancestor span ${a.span.spanId}`);
        break;
      }
      a = parentOf(a);
    }
  }
}
