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
  const depthOf = (e: DetectedSpan): number => {
    let depth = 0;
    let p = e.span.parentSpanId;
    const seen = new Set<string>([e.span.spanId]);
    while (p !== undefined && !seen.has(p)) {
      seen.add(p);
      depth++;
      p = byId.get(p)?.span.parentSpanId;
    }
    return depth;
  };
  const ancestorsOf = function* (e: DetectedSpan): Generator<DetectedSpan> {
    let p = e.span.parentSpanId;
    const seen = new Set<string>([e.span.spanId]);
    while (p !== undefined && !seen.has(p)) {
      seen.add(p);
      const a = byId.get(p);
      if (!a) return;
      yield a;
      p = a.span.parentSpanId;
    }
  };

  // 1 and (half of) 2: walk up from every call with usage.
  const wrapping = new Set<DetectedSpan>();
  for (const e of entries) {
    if (!e.call) continue;
    for (const a of ancestorsOf(e)) if (a.call || isCallWithoutUsage(a)) wrapping.add(a);
  }
  for (const a of wrapping) {
    if (a.call) markSkipped(a, 'aggregate', 'wraps a model call billed on a descendant span');
    else markSkipped(a, 'duplicate', 'the call is billed on a descendant span that has its usage');
  }
  // 2, the other half: a call without usage under a billed call.
  for (const e of entries) {
    if (!isCallWithoutUsage(e)) continue;
    for (const a of ancestorsOf(e)) {
      if (a.call) {
        markSkipped(e, 'duplicate', `the call is billed on ancestor span ${a.span.spanId}`);
        break;
      }
    }
  }
  // 3: one provider response seen twice (siblings from two instrumentations).
  const byResponse = new Map<string, DetectedSpan>();
  for (const e of entries) {
    const id = e.call?.responseId;
    if (id === undefined) continue;
    const key = `${e.call!.provider.fenra}/${id}`;
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
