import type { SpanView } from '../span/span-view.js';
import type { ModelCall, SkippedSpan } from './types.js';

/** A span of one trace after detection. */
export interface DetectedSpan {
  span: SpanView;
  call?: ModelCall;
  skipped?: SkippedSpan;
}

const isCallWithoutUsage = (d: DetectedSpan): boolean =>
  d.skipped?.reason === 'missing_usage' || d.skipped?.reason === 'failed_no_usage';

function markSkipped(d: DetectedSpan, reason: 'aggregate' | 'duplicate', detail: string): void {
  const s = d.span;
  d.skipped = { traceId: s.traceId, spanId: s.spanId, name: s.name, reason, detail };
  delete d.call;
}

/**
 * One provider call is billed once. Within one trace:
 * 1. a model-call span with a model-call descendant that has usage wraps that call (a
 *    framework span over a client span, two instrumentations of one call): the descendant is
 *    billed, the wrapper is an aggregate;
 * 2. a model-call span without usage whose ancestor or descendant call has usage was billed
 *    there: a duplicate, not a missing-usage report;
 * 3. two remaining calls with the same provider response id are one call seen twice: the
 *    deeper one is billed.
 * Mutates the entries' call/skipped fields. Independent calls in one trace are all kept.
 */
export function dedupeTrace(entries: DetectedSpan[]): void {
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

  // 1 and (half of) 2: walk up from every call with usage.
  let wrapping: Set<DetectedSpan> | undefined;
  for (const e of entries) {
    if (!e.call) continue;
    let a = parentOf(e);
    for (let steps = limit; a !== undefined && a !== e && steps > 0; steps--) {
      if (a.call || isCallWithoutUsage(a)) (wrapping ??= new Set()).add(a);
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
    const id = e.call?.responseId;
    if (id === undefined) continue;
    const key = `${e.call!.provider.fenra}/${id}`;
    byResponse ??= new Map();
    const prev = byResponse.get(key);
    if (!prev) {
      byResponse.set(key, e);
      continue;
    }
    const [keep, drop] = depthOf(e) > depthOf(prev) ? [e, prev] : [prev, e];
    markSkipped(drop, 'duplicate', `same provider response ${id} as span ${keep.span.spanId}`);
    byResponse.set(key, keep);
  }
}
