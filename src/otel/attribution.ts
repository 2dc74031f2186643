import type { Context, Span } from '@opentelemetry/api';
import { propagation, trace } from '@opentelemetry/api';
import type { Attributes } from '../span/span-view.js';

/**
 * In-process attribution: the customer id usually sits on the request span or in baggage,
 * not on the LLM span, and the request span ends after it. At span start we remember each
 * span's parent span (and the baggage in force, when there is any); at the end of a GenAI
 * span we read the ancestors' CURRENT attributes through that chain, so attributes set on the
 * request span after the LLM call started still count. Weak maps: nothing outlives its span.
 */
export class AttributionTracker {
  private readonly _parents = new WeakMap<object, Span>();
  private readonly _baggage = new WeakMap<object, Attributes>();

  /** onStart: O(1), allocation-free unless the context carries baggage. */
  onStart(span: object, parentContext: Context): void {
    const parent = trace.getSpan(parentContext);
    if (parent !== undefined) this._parents.set(span, parent);
    const baggage = propagation.getBaggage(parentContext);
    if (baggage !== undefined) {
      const attrs: Record<string, string> = {};
      for (const [key, entry] of baggage.getAllEntries()) attrs[key] = entry.value;
      this._baggage.set(span, attrs);
    }
  }

  /** Ancestors' attributes, nearest first, and the nearest baggage. */
  layers(span: object, maxDepth = 64): { ancestors: Attributes[]; baggage: Attributes | undefined } {
    const ancestors: Attributes[] = [];
    let baggage = this._baggage.get(span);
    let cur: object | undefined = this._parents.get(span);
    for (let depth = 0; cur !== undefined && depth < maxDepth; depth++) {
      const attrs = (cur as { attributes?: Attributes }).attributes;
      if (attrs !== undefined) ancestors.push(attrs);
      baggage ??= this._baggage.get(cur);
      cur = this._parents.get(cur);
    }
    return { ancestors, baggage };
  }

  /** The parent chain, for marking ancestors (in-process dedupe). */
  *ancestorSpans(span: object, maxDepth = 64): Generator<object> {
    let cur: object | undefined = this._parents.get(span);
    for (let depth = 0; cur !== undefined && depth < maxDepth; depth++) {
      yield cur;
      cur = this._parents.get(cur);
    }
  }
}
