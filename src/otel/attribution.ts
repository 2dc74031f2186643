import type { Baggage, Context, Span } from '@opentelemetry/api';
import { propagation, trace } from '@opentelemetry/api';
import { BoundedMap } from '../internal/bounded-map.js';
import type { Attributes } from '../span/span-view.js';

/**
 * The keys of the links, one per process (not per tracker): a link is a fact of the span (its
 * parent object, its trace's root, the baggage in force), the same whoever records it,
 * and one key for all keeps the SDK's span objects to one shape more, where a key per
 * processor gave each processor's spans a shape of their own. Stored with these constants
 * (a named store the engine caches), not through a key held in a field (a generic keyed store).
 */
const PARENT = Symbol('fenra.parent');
const ROOT = Symbol('fenra.root');
const BAGGAGE = Symbol('fenra.baggage');

/**
 * An SDK span that has ended (not recording any more, but a real span: started in a context
 * that outlived it, a child still has it as its parent, as every other mode sees it).
 */
const hasEnded = (span: object): boolean => (span as { ended?: unknown }).ended === true;

type Linked = { [PARENT]?: object; [ROOT]?: object; [BAGGAGE]?: Attributes };

/**
 * In-process links between spans, taken at span start: each span's parent span object (and the
 * baggage in force, when there is any). The conversion
 * stage reads ancestors through them (see `LinkedAncestors`) when it resolves a trace, so
 * attributes set on the request span after the LLM call started still count. Nothing outlives
 * its span.
 *
 * This runs for every span of the application, so the links are kept on the span objects
 * themselves (a property store, ~25× cheaper than a WeakMap entry per span; one property in
 * the common case, as a second one makes the engine grow the span's property storage); a span
 * object that cannot take properties (frozen, sealed) falls back to
 * weak maps. Baggage objects are immutable and shared by every span started in their context:
 * each one is turned into attributes once.
 *
 * A parent dropped by a sampler is a non-recording span: it is not linked (it has nothing to
 * read and never ends here); the span is linked to its trace's local root instead, the one
 * ancestor every mode still consults when a chain breaks. A parent that has ended is linked
 * like a running one (work started in its context after its end is still its child).
 */
export class AttributionTracker {
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
    const s = span as Span & Linked;
    if (parent === undefined || parent.spanContext().isRemote === true) {
      this._openRoots.set(span.spanContext().traceId, span);
    } else if (!parent.isRecording() && !hasEnded(parent)) {
      const root = this._openRoots.get(span.spanContext().traceId);
      if (root === undefined) {
        // nothing to link to
      } else if (Object.isExtensible(span)) s[ROOT] = root;
      else this._fallback(span, this._roots, root);
    } else if (Object.isExtensible(span)) s[PARENT] = parent;
    else this._fallback(span, this._parents, parent);
    if (baggage === undefined) return;
    const attrs = this._attrsOf(baggage);
    if (Object.isExtensible(span)) s[BAGGAGE] = attrs;
    else this._fallback(span, this._baggage, attrs);
  }

  /** A link of a span that cannot take properties. */
  private _fallback<V extends object>(span: object, map: WeakMap<object, V>, value: V): void {
    this._fallbacks = true;
    map.set(span, value);
  }

  /** A local root ended: spans starting later under a dropped parent no longer link to it. */
  rootEnded(traceId: string, span: object): void {
    if (this._openRoots.get(traceId) === span) this._openRoots.delete(traceId);
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
    const v = (span as Linked)[PARENT];
    return v !== undefined || !this._fallbacks ? v : this._parents.get(span);
  }

  /** The local root a span under a dropped (non-recording) parent was linked to. */
  rootLinkOf(span: object): object | undefined {
    const v = (span as Linked)[ROOT];
    return v !== undefined || !this._fallbacks ? v : this._roots.get(span);
  }

  /** The baggage in force where the span started, as attributes. */
  private _baggageAt(span: object): Attributes | undefined {
    const v = (span as Linked)[BAGGAGE];
    return v !== undefined || !this._fallbacks ? v : this._baggage.get(span);
  }

  /** The nearest baggage of the span or of its ancestors (up to `maxDepth`). */
  baggageOf(span: object, maxDepth = 64): Attributes | undefined {
    let cur: object | undefined = span;
    for (let depth = 0; cur !== undefined && depth <= maxDepth; depth++) {
      const b = this._baggageAt(cur);
      if (b !== undefined) return b;
      cur = this.parentOf(cur);
    }
    return undefined;
  }
}
