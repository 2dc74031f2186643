import type { SpanView } from '../span/span-view.js';
import { findSpan, isLocalRoot, SPAN_SCAN_LIMIT } from '../span/span-view.js';

/**
 * Small sets of spans as a trace's resolution gathers them. Most groups are a call and its
 * root: ids are found by a scan (nothing allocated), and through a Set or a Map past a few.
 */

/** A trace's group of spans being gathered, by span id (scanned while few). */
export class SpanGroup {
  readonly spans: SpanView[];
  private _byId: Map<string, SpanView> | undefined;

  constructor(spans: readonly SpanView[]) {
    this.spans = [...spans];
    if (spans.length > SPAN_SCAN_LIMIT) this._byId = indexById(this.spans);
  }

  get size(): number {
    return this.spans.length;
  }

  /** The span of that id (the last one given, if given twice). */
  get(id: string): SpanView | undefined {
    if (this._byId !== undefined) return this._byId.get(id);
    const spans = this.spans;
    for (let i = spans.length - 1; i >= 0; i--) if (spans[i]!.spanId === id) return spans[i];
    return undefined;
  }

  has(id: string): boolean {
    return this.get(id) !== undefined;
  }

  add(span: SpanView): void {
    this.spans.push(span);
    if (this._byId !== undefined) this._byId.set(span.spanId, span);
    else if (this.spans.length > SPAN_SCAN_LIMIT) this._byId = indexById(this.spans);
  }
}

function indexById(spans: readonly SpanView[]): Map<string, SpanView> {
  const m = new Map<string, SpanView>();
  for (const s of spans) m.set(s.spanId, s);
  return m;
}

/** Span ids as {@link hasSpanId} looks them up: the spans while few, a Set of many. */
export type SpanIds = readonly SpanView[] | ReadonlySet<string>;

/** The ids of `spans`, to look up with {@link hasSpanId} (nothing allocated for a few). */
export function spanIds(spans: readonly SpanView[]): SpanIds {
  return spans.length > SPAN_SCAN_LIMIT ? new Set(spans.map((s) => s.spanId)) : spans;
}

export function hasSpanId(ids: SpanIds, id: string): boolean {
  return Array.isArray(ids)
    ? findSpan(ids as readonly SpanView[], id) !== undefined
    : (ids as ReadonlySet<string>).has(id);
}

/**
 * The span ids above `span` within the group (bounded by its size: a cycle cannot loop). A small
 * group's list is made at its most and cut, like a call's attribution layers (convert-trace.ts):
 * most hold one or two ids, and a list grown by push from empty reserves room for 16.
 */
export function ancestorIds(
  span: SpanView,
  byId: { readonly size: number; get(id: string): SpanView | undefined },
): string[] {
  const out = byId.size <= SPAN_SCAN_LIMIT ? new Array<string>(byId.size) : [];
  let n = 0;
  let p = span.parentSpanId;
  for (let steps = byId.size; p !== undefined && steps > 0; steps--) {
    out[n++] = p;
    const a = byId.get(p);
    if (a === undefined || isLocalRoot(a)) break;
    p = a.parentSpanId;
  }
  out.length = n;
  return out;
}
