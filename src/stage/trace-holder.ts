import { mayBeGenAi } from '../genai/detect.js';
import type { SpanView } from '../span/span-view.js';
import { findSpan, isLocalRoot } from '../span/span-view.js';

/** Why a held trace was resolved. */
export type ResolveCause = 'root' | 'timeout' | 'overflow' | 'flush';
export const RESOLVE_CAUSES: readonly ResolveCause[] = ['root', 'timeout', 'overflow', 'flush'];

/** The bounds and waits of trace holding (see ARCHITECTURE.md, "Billing rules"). */
export interface HoldLimits {
  /** How long a trace's calls wait for its local root, ms. */
  waitMillis: number;
  /** How long a call arriving after its root waits for the spans around it, ms (at most `waitMillis`). */
  settleMillis: number;
  /** Traces held at once; past it the oldest is resolved. */
  maxTraces: number;
  /** Spans held of one trace; past it the trace is resolved. */
  maxSpansPerTrace: number;
  /** Spans held in all; past it the oldest traces are resolved. */
  maxHeldSpans: number;
}

/** One trace held for its root. */
export interface HeldTrace<Tag> {
  readonly traceId: string;
  /** The spans that arrived, in arrival order: the ones decided on. */
  readonly spans: SpanView[];
  /** Spans known from before (its root, ancestors): read for attribution, never decided on. */
  readonly context: readonly SpanView[];
  /** The tags of the deliveries that brought spans to it (the sidecar's spool records). */
  readonly tags: readonly Tag[];
  readonly deadline: number;
  /** Its root had arrived before its first call: it waits `settleMillis`, not `waitMillis`. */
  readonly straggler: boolean;
}

type Mutable<Tag> = Omit<HeldTrace<Tag>, 'deadline' | 'context' | 'tags' | 'straggler'> & {
  deadline: number;
  context: SpanView[];
  tags: Tag[];
  straggler: boolean;
};

/** What a held trace starts with (most never get context or tags): a list is made at the first. */
const NONE = Object.freeze([]) as never[];

/**
 * Holds each trace's spans from its first call until its local root arrives (the request span,
 * which carries the customer and ends last), or a wait expires, or a bound is reached, like the
 * Collector's tail sampler `decision_wait`. A root resolves its trace at the end of the delivery
 * that brought it, so spans of one delivery count as arriving together whatever their order.
 * Pure: time is read from `now`, the owner calls `expire()` when `nextDeadline()` is due.
 * `onResolved` reads a trace's lists during the call only: they are emptied when it returns.
 */
export class TraceHolder<Tag> {
  private readonly _limits: HoldLimits;
  private readonly _now: () => number;
  private readonly _onResolved: (trace: HeldTrace<Tag>, cause: ResolveCause) => void;
  private readonly _notHeld: (span: SpanView) => void;
  /** Replaced by new ones whenever they empty (see `_resolve`). */
  private _held = new Map<string, Mutable<Tag>>();
  /** Trace ids in deadline order, per wait (equal waits: insertion order is deadline order). */
  private _waiting = new Set<string>();
  private _settling = new Set<string>();
  private _heldSpans = 0;
  /**
   * The traces each `add` started holding, looked at again at its end: a stack shared by every
   * call (an `add` reached again from a resolution pushes above its caller's entries and takes
   * them off before it returns, as does one that throws), so a delivery makes no list of its own.
   */
  private readonly _fresh: Mutable<Tag>[] = [];

  constructor(
    limits: HoldLimits,
    now: () => number,
    onResolved: (trace: HeldTrace<Tag>, cause: ResolveCause) => void,
    notHeld: (span: SpanView) => void,
  ) {
    this._limits = { ...limits, settleMillis: Math.min(limits.settleMillis, limits.waitMillis) };
    this._now = now;
    this._onResolved = onResolved;
    this._notHeld = notHeld;
  }

  has(traceId: string): boolean {
    return this._held.has(traceId);
  }

  get heldTraces(): number {
    return this._held.size;
  }

  get heldSpans(): number {
    return this._heldSpans;
  }

  /**
   * Adds one delivery. A span of a trace not held starts holding it only if it may be a call
   * (others are handed to `notHeld`). `context` spans join their trace if it is held. A trace
   * whose root is in the delivery resolves at its end; for a trace that starts holding here
   * and is still held then, `rootOf` says whether its root arrived before (its calls are then
   * stragglers: they wait `settleMillis`, with the root kept as context). It is asked only
   * then: a root in the same delivery makes the question moot, and asking costs a lookup in a
   * map of recent roots (out of process) or a walk up the span's links and a view of the root
   * (in process). Returns how many traces took `tag` (each resolves once with it, now or later).
   */
  add(
    spans: readonly SpanView[],
    context: readonly SpanView[],
    tag: Tag | undefined,
    rootOf: (span: SpanView) => SpanView | undefined,
  ): number {
    const fresh = this._fresh;
    const firstFresh = fresh.length;
    try {
      return this._add(spans, context, tag, rootOf, firstFresh);
    } finally {
      fresh.length = firstFresh;
    }
  }

  private _add(
    spans: readonly SpanView[],
    context: readonly SpanView[],
    tag: Tag | undefined,
    rootOf: (span: SpanView) => SpanView | undefined,
    firstFresh: number,
  ): number {
    let taken = 0;
    let roots: string[] | undefined;
    const fresh = this._fresh;
    for (const span of spans) {
      let t = this._held.get(span.traceId);
      const root = isLocalRoot(span);
      if (t === undefined) {
        if (!mayBeGenAi(span)) {
          this._notHeld(span);
          continue;
        }
        t = this._hold(span.traceId);
        fresh.push(t);
      }
      t.spans.push(span);
      this._heldSpans++;
      if (tag !== undefined && !t.tags.includes(tag)) {
        if (t.tags === NONE) t.tags = [tag];
        else t.tags.push(tag);
        taken++;
      }
      if (root) (roots ??= []).push(span.traceId);
      else if (t.spans.length >= this._limits.maxSpansPerTrace) this._resolve(t, 'overflow');
    }
    for (const span of context) {
      const t = this._held.get(span.traceId);
      if (t === undefined || t.context.some((c) => c.spanId === span.spanId)) continue;
      if (t.context === NONE) t.context = [span];
      else t.context.push(span);
    }
    if (roots !== undefined) {
      for (const traceId of roots) {
        const t = this._held.get(traceId);
        if (t !== undefined) this._resolve(t, 'root');
      }
    }
    for (let i = firstFresh; i < fresh.length; i++) {
      const t = fresh[i]!;
      // Resolved meanwhile (its root came, a bound): nothing more to wait for.
      if (this._held.get(t.traceId) !== t) continue;
      const knownRoot = rootOf(t.spans[0]!);
      if (knownRoot === undefined) continue;
      this._waiting.delete(t.traceId);
      t.straggler = true;
      t.deadline = this._now() + this._limits.settleMillis;
      this._settling.add(t.traceId);
      if (findSpan(t.context, knownRoot.spanId) === undefined) {
        t.context = t.context === NONE ? [knownRoot] : [knownRoot, ...t.context];
      }
    }
    while (this._heldSpans > this._limits.maxHeldSpans && this._resolveOldest()) {
      /* resolved one */
    }
    return taken;
  }

  /** Resolves the traces whose wait expired. */
  expire(): void {
    const now = this._now();
    for (const queue of [this._waiting, this._settling]) {
      for (const traceId of queue) {
        const t = this._held.get(traceId)!;
        if (t.deadline > now) break;
        this._resolve(t, 'timeout');
      }
    }
  }

  /** Resolves everything held (forceFlush, shutdown, end of input). */
  flush(): void {
    for (const t of [...this._held.values()]) this._resolve(t, 'flush');
  }

  /** The earliest deadline; undefined when nothing is held. */
  nextDeadline(): number | undefined {
    let next: number | undefined;
    for (const queue of [this._waiting, this._settling]) {
      for (const traceId of queue) {
        const d = this._held.get(traceId)!.deadline;
        if (next === undefined || d < next) next = d;
        break;
      }
    }
    return next;
  }

  /**
   * Starts holding a trace, as one waiting for its root (`waitMillis`). At the end of the
   * delivery, `add` makes it a straggler if its root came before.
   */
  private _hold(traceId: string): Mutable<Tag> {
    if (this._held.size >= this._limits.maxTraces) this._resolveOldest();
    const t: Mutable<Tag> = {
      traceId,
      spans: [],
      context: NONE,
      tags: NONE,
      deadline: this._now() + this._limits.waitMillis,
      straggler: false,
    };
    this._held.set(traceId, t);
    this._waiting.add(traceId);
    return t;
  }

  private _resolveOldest(): boolean {
    for (const t of this._held.values()) {
      this._resolve(t, 'overflow');
      return true;
    }
    return false;
  }

  private _resolve(t: Mutable<Tag>, cause: ResolveCause): void {
    if (this._held.get(t.traceId) !== t) return;
    this._held.delete(t.traceId);
    (t.straggler ? this._settling : this._waiting).delete(t.traceId);
    this._heldSpans -= t.spans.length;
    this._onResolved(t, cause);
    // A resolved trace lets go of its spans, and emptied maps start again young. A long-lived
    // Map whose entries come and go has its tables in the old generation, and what they held
    // stays alive through the application's scavenges until the next full collection (100
    // entries set and deleted per round: 14 MB promoted and 10 full collections, against none
    // with a new Map per round). In process, where a view holds its SDK span, that kept the SDK
    // spans of resolved traces alive: with Fenra the only span processor, garbage collection
    // cost 13.6-14.1 µs per request of 10 spans before, 5.9-7.4 µs after (bench/RESULTS.md).
    t.spans.length = 0;
    t.context = NONE;
    if (this._held.size === 0) {
      this._held = new Map();
      this._waiting = new Set();
      this._settling = new Set();
    }
  }
}
