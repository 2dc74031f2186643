import type { Baggage, Context, Span } from '@opentelemetry/api';
import { propagation, trace } from '@opentelemetry/api';
import type { Attributes } from '../span/span-view.js';

/**
 * In-process attribution: the customer id usually sits on the request span or in baggage,
 * not on the LLM span, and the request span ends after it. At span start we remember each
 * span's parent span (and the baggage in force, when there is any); at the end of a GenAI
 * span we read the ancestors' CURRENT attributes through that chain, so attributes set on the
 * request span after the LLM call started still count. Nothing outlives its span.
 *
 * This runs for every span of the application, so the links are kept on the span objects
 * themselves under this tracker's own symbols (a property store, ~25× cheaper than a
 * WeakMap entry per span); a span object that cannot take properties (frozen, sealed) falls
 * back to weak maps. Baggage objects are immutable and shared by every span started in their
 * context: each one is turned into attributes once.
 */
export class AttributionTracker {
  private readonly _parentKey = Symbol('fenra.parent');
  private readonly _baggageKey = Symbol('fenra.baggage');
  private readonly _parents = new WeakMap<object, Span>();
  private readonly _baggage = new WeakMap<object, Attributes>();
  private readonly _baggageAttrs = new WeakMap<Baggage, Attributes>();

  /** onStart: O(1), allocation-free unless the context carries a baggage not seen before. */
  onStart(span: object, parentContext: Context): void {
    const parent = trace.getSpan(parentContext);
    const baggage = propagation.getBaggage(parentContext);
    if (parent === undefined && baggage === undefined) return;
    const attrs = baggage === undefined ? undefined : this._attrsOf(baggage);
    if (Object.isExtensible(span)) {
      const slots = span as Record<symbol, unknown>;
      if (parent !== undefined) slots[this._parentKey] = parent;
      if (attrs !== undefined) slots[this._baggageKey] = attrs;
      return;
    }
    if (parent !== undefined) this._parents.set(span, parent);
    if (attrs !== undefined) this._baggage.set(span, attrs);
  }

  private _attrsOf(baggage: Baggage): Attributes {
    let attrs = this._baggageAttrs.get(baggage);
    if (attrs === undefined) {
      const out: Record<string, string> = {};
      for (const [key, entry] of baggage.getAllEntries()) out[key] = entry.value;
      attrs = out;
      this._baggageAttrs.set(baggage, attrs);
    }
    return attrs;
  }

  private _parentOf(span: object): object | undefined {
    const p = (span as Record<symbol, object | undefined>)[this._parentKey];
    return p !== undefined ? p : this._parents.get(span);
  }

  private _baggageOf(span: object): Attributes | undefined {
    const b = (span as Record<symbol, Attributes | undefined>)[this._baggageKey];
    return b !== undefined ? b : this._baggage.get(span);
  }

  /** Ancestors' attributes, nearest first, and the nearest baggage. */
  layers(span: object, maxDepth = 64): { ancestors: Attributes[]; baggage: Attributes | undefined } {
    const ancestors: Attributes[] = [];
    let baggage = this._baggageOf(span);
    let cur: object | undefined = this._parentOf(span);
    for (let depth = 0; cur !== undefined && depth < maxDepth; depth++) {
      const attrs = (cur as { attributes?: Attributes }).attributes;
      if (attrs !== undefined) ancestors.push(attrs);
      baggage ??= this._baggageOf(cur);
      cur = this._parentOf(cur);
    }
    return { ancestors, baggage };
  }

  /** Adds every ancestor (up to `maxDepth`) to `set`: `ancestorSpans` without a generator. */
  addAncestorsTo(span: object, set: WeakSet<object>, maxDepth = 64): void {
    let cur: object | undefined = this._parentOf(span);
    for (let depth = 0; cur !== undefined && depth < maxDepth; depth++) {
      set.add(cur);
      cur = this._parentOf(cur);
    }
  }

  /** The parent chain, for marking ancestors (in-process dedupe). */
  *ancestorSpans(span: object, maxDepth = 64): Generator<object> {
    let cur: object | undefined = this._parentOf(span);
    for (let depth = 0; cur !== undefined && depth < maxDepth; depth++) {
      yield cur;
      cur = this._parentOf(cur);
    }
  }
}
