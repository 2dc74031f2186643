import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { Attributes, SpanView } from '../span/span-view.js';
import { isLocalRoot } from '../span/span-view.js';
import { fromReadableSpan, SDK_SPAN } from '../span/from-readable-span.js';
import type { AncestorSource } from '../stage/ancestor-source.js';
import type { ResolveCause } from '../stage/trace-holder.js';
import type { AttributionTracker } from './attribution.js';

/** Most parent links followed to find a local root. */
const MAX_DEPTH = 64;

/** The SDK span object of a view (a property of the view: no weak map entry per view). */
const spanOf = (view: SpanView): ReadableSpan | undefined =>
  (view as SpanView & { [SDK_SPAN]?: ReadableSpan })[SDK_SPAN];

const hasEnded = (span: object): boolean => (span as { ended?: unknown }).ended === true;

/**
 * Whether a span counts. Once its root has ended, only spans that ended count, as in every
 * other mode. A trace resolved while its root still runs (its wait expired, a bound, a flush:
 * `forceFlush()` inside a serverless handler, a long session span) reads its running ancestors
 * as they are now, which out of process cannot be known at all.
 */
const counts = (span: object, cause: ResolveCause | undefined): boolean =>
  hasEnded(span) || (cause !== undefined && cause !== 'root');

/**
 * The in-process {@link AncestorSource}: the SDK's parent links taken at span start. A parent
 * counts once it has ended — what an exporter or the sidecar would have received by then — so
 * the processor reaches the same answer as every other mode; nothing needs remembering.
 */
export class LinkedAncestors implements AncestorSource {
  private readonly _tracker: AttributionTracker;

  constructor(tracker: AttributionTracker) {
    this._tracker = tracker;
  }

  parentOf(span: SpanView, cause?: ResolveCause): SpanView | undefined {
    const obj = spanOf(span);
    const parent = obj === undefined ? undefined : this._tracker.parentOf(obj);
    if (parent === undefined || !counts(parent, cause)) return undefined;
    const v = fromReadableSpan(parent as ReadableSpan);
    return v.traceId === span.traceId ? v : undefined;
  }

  rootOf(span: SpanView, cause?: ResolveCause): SpanView | undefined {
    let cur: object | undefined = spanOf(span);
    for (let depth = 0; cur !== undefined && depth < MAX_DEPTH; depth++) {
      const next: object | undefined = this._tracker.parentOf(cur) ?? this._tracker.rootLinkOf(cur);
      if (next === undefined) break;
      cur = next;
    }
    if (cur === undefined || !counts(cur, cause)) return undefined;
    const v = fromReadableSpan(cur as ReadableSpan);
    return isLocalRoot(v) && v.traceId === span.traceId && v.spanId !== span.spanId ? v : undefined;
  }

  /** Spans are linked, not remembered. */
  remember(): void {}

  /** Baggage in force where the span started (or where an ancestor did): an in-process layer. */
  baggageOf(span: SpanView): Attributes | undefined {
    const obj = spanOf(span);
    return obj === undefined ? undefined : this._tracker.baggageOf(obj);
  }
}
