import type { Baggage, Context, Span } from '@opentelemetry/api';
import { propagation, trace } from '@opentelemetry/api';
import { BoundedMap } from '../internal/bounded-map.js';
import type { Attributes } from '../span/span-view.js';

/**
 * In-process links between spans, taken at span start: each span's parent span object (and the
 * baggage in force, when there is any). The conversion stage reads ancestors through them
 * (see `LinkedAncestors`) when it resolves a trace, so attributes set on the request span after
 * the LLM call started still count. Nothing outlives its span.
 *
 * This runs for every span of the application, so the links are kept on the span objects
 * themselves under symbols of this module (a property store, ~25× cheaper than a WeakMap
 * entry per span); a span object that cannot take properties (frozen, sealed) falls back to
 * weak maps. Baggage objects are immutable and shared by every span started in their context:
 * each one is turned into attributes once.
 *
 * A parent dropped by a sampler is a non-recording span: it is not linked (it has nothing to
 * read and never ends here); the span is linked to its trace's local root instead, the one
 * ancestor every mode still consults when a chain breaks.
 */
/**
 * The keys of the links, one per process (not per tracker): a link is a fact of the span (its
 * parent object, its trace's root, the baggage in force), the same whoever records it, and one
 * key for all keeps the SDK's span objects to one shape more, where a key per processor gave
 * each processor's spans a shape of their own (slower property access in the SDK and here).
 */
const PARENT = Symbol('fenra.parent');
const BAGGAGE = Symbol('fenra.baggage');
const ROOT = Symbol('fenra.root');

export class AttributionTracker {
  private readonly _parentKey = PARENT;
  private readonly _baggageKey = BAGGAGE;
  private readonly _rootKey = ROOT;
  private readonly _parents = new WeakMap<object, object>();
  private readonly _baggage = new WeakMap<object, Attributes>();
  private readonly _roots = new WeakMap<object, object>();
  private readonly _baggageAttrs = new WeakMap<Baggage, Attributes>();
  /** A span could not take properties: links are looked up in the weak maps too. */
  private _fallbacks = false;
  /**
   * Local roots still running, by trace id: what a span under a dropped parent links to.
   * Bounded, for roots that never end.
   */
  private readonly _openRoots = new BoundedMap<string, object>(10_000);

  /** onStart: O(1), allocation-free unless the context carries a baggage not seen before. */
  onStart(span: Span, parentContext: Context): void {
    const parent = trace.getSpan(parentContext);
    const baggage = propagation.getBaggage(parentContext);
    if (parent === undefined || parent.spanContext().isRemote === true) {
      this._openRoots.set(span.spanContext().traceId, span);
    } else if (!parent.isRecording()) {
      const root = this._openRoots.get(span.spanContext().traceId);
      if (root !== undefined) this._set(span, this._rootKey, this._roots, root);
    } else this._set(span, this._parentKey, this._parents, parent);
    if (baggage !== undefined) this._set(span, this._baggageKey, this._baggage, this._attrsOf(baggage));
  }

  /** A local root ended: spans starting later under a dropped parent no longer link to it. */
  rootEnded(traceId: string, span: object): void {
    if (this._openRoots.get(traceId) === span) this._openRoots.delete(traceId);
  }

  private _set<V extends object>(span: object, key: symbol, fallback: WeakMap<object, V>, value: V): void {
    if (Object.isExtensible(span)) (span as Record<symbol, unknown>)[key] = value;
    else {
      this._fallbacks = true;
      fallback.set(span, value);
    }
  }

  private _get<V>(span: object, key: symbol, fallback: WeakMap<object, V>): V | undefined {
    const v = (span as Record<symbol, V | undefined>)[key];
    return v !== undefined || !this._fallbacks ? v : fallback.get(span);
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

  /** The span's recording parent span object, if it was started under one. */
  parentOf(span: object): object | undefined {
    return this._get(span, this._parentKey, this._parents);
  }

  /** The local root a span under a dropped (non-recording) parent was linked to. */
  rootLinkOf(span: object): object | undefined {
    return this._get(span, this._rootKey, this._roots);
  }

  /** The nearest baggage of the span or of its ancestors (up to `maxDepth`). */
  baggageOf(span: object, maxDepth = 64): Attributes | undefined {
    let cur: object | undefined = span;
    for (let depth = 0; cur !== undefined && depth <= maxDepth; depth++) {
      const b = this._get(cur, this._baggageKey, this._baggage);
      if (b !== undefined) return b;
      cur = this.parentOf(cur);
    }
    return undefined;
  }
}
