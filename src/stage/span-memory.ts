import { BoundedMap } from '../internal/bounded-map.js';
import type { AttributeFilter } from '../span/attribute-filter.js';
import { filterSpan } from '../span/attribute-filter.js';
import type { SpanView } from '../span/span-view.js';
import { isLocalRoot } from '../span/span-view.js';
import type { AncestorSource } from './ancestor-source.js';

/**
 * The span with only the span and resource attributes billing reads (the one allow-list, see
 * `billingAttributeFilter`), no events and no status message: what is remembered (and what a
 * durable record keeps) is never content. The same object when there is nothing to drop.
 */
export function slimSpan(span: SpanView, filter: AttributeFilter): SpanView {
  return filterSpan(span, filter);
}

/**
 * The out-of-process {@link AncestorSource}: the most recent spans the stage did not hold (and
 * the spans of traces it resolved), by span id, and the most recent local roots, by trace id;
 * each bounded (the oldest is forgotten first) and slimmed to the attributes billing reads.
 */
export class SpanMemory implements AncestorSource {
  private readonly _spans: BoundedMap<string, SpanView>;
  private readonly _roots: BoundedMap<string, SpanView>;
  private readonly _keep: AttributeFilter;

  constructor(capacity: number, keep: AttributeFilter) {
    this._spans = new BoundedMap(capacity);
    this._roots = new BoundedMap(capacity);
    this._keep = keep;
  }

  parentOf(span: SpanView): SpanView | undefined {
    const p = span.parentSpanId;
    if (p === undefined) return undefined;
    const a = this._spans.get(p);
    if (a !== undefined) return a.traceId === span.traceId ? a : undefined;
    const root = this._roots.get(span.traceId);
    return root !== undefined && root.spanId === p ? root : undefined;
  }

  rootOf(span: SpanView): SpanView | undefined {
    return this._roots.get(span.traceId);
  }

  remember(span: SpanView): void {
    const slim = slimSpan(span, this._keep);
    if (isLocalRoot(span)) this._roots.set(span.traceId, slim);
    else this._spans.set(span.spanId, slim);
  }
}
