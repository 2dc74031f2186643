import type { Baggage, Context, Span, SpanContext } from '@opentelemetry/api';
import { propagation, trace } from '@opentelemetry/api';
import { BoundedMap } from '../internal/bounded-map.js';
import type { Attributes } from '../span/span-view.js';

/**
 * The keys of the links, one per process (not per tracker): a link is a fact of the span (the
 * context it started in, the root it falls back to), the same whoever records it, and one key
 * for all keeps the SDK's span objects to one shape more, where a key per processor gave each
 * processor's spans a shape of their own. Stored with these constants (a named store the engine
 * caches), not through a key held in a field (a generic keyed store).
 */
const CONTEXT = Symbol('fenra.context');
const ROOT = Symbol('fenra.root');

/**
 * An SDK span that has ended (not recording any more, but a real span: started in a context
 * that outlived it, a child still has it as its parent, as every other mode sees it).
 */
const hasEnded = (span: object): boolean => (span as { ended?: unknown }).ended === true;

type Linked = { [CONTEXT]?: Context; [ROOT]?: object };

/** What onStart reads of the SDK span (2.x): its parent's span context, set by the tracer. */
type StartedSpan = Span & { parentSpanContext?: SpanContext };

/**
 * In-process links between spans: the context each span started in, from which its parent span
 * object and the baggage in force are read when a trace is converted (contexts are immutable:
 * what is read then is what was in force at the start). The conversion stage reads ancestors
 * through them (see `LinkedAncestors`), so attributes set on the request span after the LLM
 * call started still count. Nothing outlives its span.
 *
 * This runs for every span of the application, so onStart does as little as it can: one
 * property on the span object (a property store, ~25× cheaper than a weak map entry per span;
 * one property, as a second one makes the engine grow the span's property storage), a look at
 * the parent, and for a local root, its entry among the open roots. A parent that records
 * nothing here and never ends (dropped by a sampler, or a span context passed in process) has
 * nothing to read: the span is linked to its trace's open local root instead, the one ancestor
 * every mode still consults when a chain breaks; that is decided at start, as the open root is
 * the one of that moment. A parent that has ended is a parent like a running one (work started
 * in its context after its end is still its child). A span object that cannot take properties
 * (frozen, sealed) falls back to weak maps.
 */
export class AttributionTracker {
  private readonly _contexts = new WeakMap<object, Context>();
  private readonly _roots = new WeakMap<object, object>();
  private readonly _baggageAttrs = new WeakMap<Baggage, Attributes>();
  /** A span could not take properties: links are looked up in the weak maps too. */
  private _fallbacks = false;
  /**
   * Local roots still running, by trace id: what a span under a dropped parent links to.
   * Bounded, for roots that never end.
   */
  private readonly _openRoots = new BoundedMap<string, object>(10_000);

  /** onStart: O(1), allocation-free (one property on the span). */
  onStart(span: Span, parentContext: Context): void {
    const s = span as StartedSpan & Linked;
    try {
      s[CONTEXT] = parentContext;
    } catch {
      // A frozen or sealed span (strict mode throws where the property cannot be added).
      this._fallback(span, this._contexts, parentContext);
    }
    const pc = s.parentSpanContext;
    if (pc !== undefined && pc.isRemote !== true) {
      // A local parent: linked through the context, unless it was dropped.
      this._linkIfDropped(s, trace.getSpan(parentContext));
      return;
    }
    // No local parent by the SDK's record (or a span that keeps none): what the context holds.
    const parent = trace.getSpan(parentContext);
    if (parent === undefined || parent.spanContext().isRemote === true) {
      this._openRoots.set(span.spanContext().traceId, span);
    } else this._linkIfDropped(s, parent);
  }

  /** Links a span under a parent dropped by a sampler to its trace's open local root. */
  private _linkIfDropped(span: Span & Linked, parent: Span | undefined): void {
    if (!isDropped(parent)) return;
    const root = this._openRoots.get(span.spanContext().traceId);
    if (root === undefined) return;
    if (Object.isExtensible(span)) span[ROOT] = root;
    else this._fallback(span, this._roots, root);
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

  /** The context the span started in. */
  private _contextOf(span: object): Context | undefined {
    const v = (span as Linked)[CONTEXT];
    return v !== undefined || !this._fallbacks ? v : this._contexts.get(span);
  }

  /** The span's recording (or ended) local parent span object, if it was started under one. */
  parentOf(span: object): object | undefined {
    const ctx = this._contextOf(span);
    if (ctx === undefined) return undefined;
    const parent = trace.getSpan(ctx);
    if (parent === undefined || parent.spanContext().isRemote === true || isDropped(parent)) return undefined;
    return parent;
  }

  /** The local root a span under a dropped (non-recording) parent was linked to. */
  rootLinkOf(span: object): object | undefined {
    const v = (span as Linked)[ROOT];
    return v !== undefined || !this._fallbacks ? v : this._roots.get(span);
  }

  /** The baggage in force where the span started, as attributes. */
  private _baggageAt(span: object): Attributes | undefined {
    const ctx = this._contextOf(span);
    const baggage = ctx === undefined ? undefined : propagation.getBaggage(ctx);
    return baggage === undefined ? undefined : this._attrsOf(baggage);
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

/** A parent span that records nothing and never ends here (dropped by a sampler). */
function isDropped(parent: Span | undefined): boolean {
  return parent !== undefined && !parent.isRecording() && !hasEnded(parent);
}
