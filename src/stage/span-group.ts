import type { SpanView } from '../span/span-view.js';
import { isLocalRoot } from '../span/span-view.js';

/**
 * Small sets of spans as a trace's resolution gathers them. Most groups are a call and its
 * root: ids are found by a scan (nothing allocated), and through a Set or a Map past a few.
 */

/** Past this many spans, span ids are looked up through a Set (a scan allocates nothing). */
const SCAN_LIMIT = 8;

/** A trace's group of spans being gathered, with its span ids (scanned while few). */
export class SpanGroup {
  readonly spans: SpanView[];
  private _ids: Set<string> | undefined;

  constructor(spans: readonly SpanView[]) {
    this.spans = [...spans];
    if (spans.length > SCAN_LIMIT) this._ids = new Set(spans.map((s) => s.spanId));
  }

  has(id: string): boolean {
    if (this._ids !== undefined) return this._ids.has(id);
    const spans = this.spans;
    for (let i = 0; i < spans.length; i++) if (spans[i]!.spanId === id) return true;
    return false;
  }

  add(span: SpanView): void {
    this.spans.push(span);
    if (this._ids !== undefined) this._ids.add(span.spanId);
    else if (this.spans.length > SCAN_LIMIT) this._ids = new Set(this.spans.map((s) => s.spanId));
  }
}

/** Whether a span id is among `spans`: a scan of a few spans, a Set of many. */
export function spanIdsOf(spans: readonly SpanView[]): { has(id: string): boolean } {
  if (spans.length > SCAN_LIMIT) return new Set(spans.map((s) => s.spanId));
  return {
    has: (id) => {
      for (let i = 0; i < spans.length; i++) if (spans[i]!.spanId === id) return true;
      return false;
    },
  };
}

/** Spans by id: a scan of a few spans (most groups are a call and its root), a Map of many. */
export function spansById(spans: readonly SpanView[]): {
  readonly size: number;
  get(id: string): SpanView | undefined;
} {
  if (spans.length > SCAN_LIMIT) return new Map(spans.map((s) => [s.spanId, s]));
  return {
    size: spans.length,
    get: (id) => {
      for (let i = 0; i < spans.length; i++) if (spans[i]!.spanId === id) return spans[i];
      return undefined;
    },
  };
}

/** The span ids above `span` within the group (bounded by its size: a cycle cannot loop). */
export function ancestorIds(
  span: SpanView,
  byId: { readonly size: number; get(id: string): SpanView | undefined },
): string[] {
  const out: string[] = [];
  let p = span.parentSpanId;
  for (let steps = byId.size; p !== undefined && steps > 0; steps--) {
    out.push(p);
    const a = byId.get(p);
    if (a === undefined || isLocalRoot(a)) break;
    p = a.parentSpanId;
  }
  return out;
}
