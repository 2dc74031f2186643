import { mayBeGenAi } from '../genai/detect.js';
import type { SpanView } from '../span/span-view.js';
import { isLocalRoot } from '../span/span-view.js';

/**
 * Trace assembly for everything that sees spans after they ended (the span exporter, the
 * sidecar): the customer id usually sits on the request span, which ends after the LLM span
 * it contains. GenAI spans are held per trace until the trace's local root arrives (every
 * ancestor has then ended) or a bounded wait expires, like the Collector's tail sampler
 * `decision_wait`. Only traces holding a GenAI span keep anything; memory is bounded by
 * `maxTraces` and `maxSpansPerTrace` (overflow resolves early, counted).
 */

/** How long a GenAI span that arrives after its trace's root waits for its wrappers, ms. */
const STRAGGLER_WAIT_MS = 1_000;

export { isLocalRoot };

export type ResolveCause = 'root' | 'timeout' | 'overflow' | 'flush';

export interface TraceAssemblerOptions {
  /** How long to wait for a trace's root after its first GenAI span, ms. */
  waitMillis: number;
  maxTraces: number;
  maxSpansPerTrace: number;
  /** Called with every resolved trace's spans (GenAI spans and their held ancestors). */
  onResolved: (spans: SpanView[], cause: ResolveCause) => void;
  now?: () => number;
}

interface Pending {
  spans: SpanView[];
  deadline: number;
  /** Which deadline queue holds it. */
  straggler: boolean;
}

export interface AssemblerStats {
  pendingTraces: number;
  pendingSpans: number;
  resolved: Record<ResolveCause, number>;
}

export class TraceAssembler {
  private readonly _opts: TraceAssemblerOptions;
  private readonly _now: () => number;
  private readonly _pending = new Map<string, Pending>();
  /**
   * Trace ids by deadline: within each queue all waits are equal, so insertion order is
   * deadline order and expiry only looks at the fronts.
   */
  private readonly _byDeadline = new Set<string>();
  private readonly _stragglersByDeadline = new Set<string>();
  private _pendingSpans = 0;
  /**
   * Root spans seen recently, for GenAI spans that arrive after their root (an instrumentation
   * that ends its span after the request span, or a root exported in an earlier batch).
   */
  private readonly _recentRoots = new Map<string, SpanView>();
  /** Insertion ring of `_recentRoots` keys: O(1) eviction of the oldest. */
  private readonly _rootRing: Array<string | undefined>;
  private _rootPos = 0;
  private readonly _resolved: Record<ResolveCause, number> = { root: 0, timeout: 0, overflow: 0, flush: 0 };

  constructor(options: TraceAssemblerOptions) {
    this._opts = options;
    this._now = options.now ?? Date.now;
    this._rootRing = new Array<string | undefined>(Math.max(1, options.maxTraces));
  }

  /** Adds spans (any traces, any order). Traces whose root arrived resolve at once. */
  add(spans: readonly SpanView[]): void {
    const roots: string[] = [];
    for (const span of spans) {
      const isRoot = isLocalRoot(span);
      if (isRoot) this._rememberRoot(span);
      let p = this._pending.get(span.traceId);
      if (!p) {
        // A trace is held only from its first GenAI span on; its ancestors end later.
        if (!mayBeGenAi(span)) continue;
        if (this._pending.size >= this._opts.maxTraces) this._resolveOldest();
        const root = isRoot ? undefined : this._recentRoots.get(span.traceId);
        // A straggler (its root already ended) waits only briefly, for the spans wrapping it.
        const wait =
          root === undefined ? this._opts.waitMillis : Math.min(this._opts.waitMillis, STRAGGLER_WAIT_MS);
        p = { spans: [], deadline: this._now() + wait, straggler: root !== undefined };
        this._pending.set(span.traceId, p);
        (p.straggler ? this._stragglersByDeadline : this._byDeadline).add(span.traceId);
        if (root !== undefined) {
          p.spans.push(root);
          this._pendingSpans++;
        }
      }
      p.spans.push(span);
      this._pendingSpans++;
      if (isRoot) roots.push(span.traceId);
      else if (p.spans.length >= this._opts.maxSpansPerTrace) this._resolve(span.traceId, 'overflow');
    }
    for (const traceId of roots) this._resolve(traceId, 'root');
  }

  /** Resolves the traces whose wait expired; the owner calls it from its timer. */
  expire(): void {
    const now = this._now();
    for (const queue of [this._byDeadline, this._stragglersByDeadline]) {
      for (const traceId of queue) {
        if (this._pending.get(traceId)!.deadline > now) break;
        this._resolve(traceId, 'timeout');
      }
    }
  }

  /** Resolves everything held (forceFlush, shutdown). */
  flush(): void {
    for (const traceId of [...this._pending.keys()]) this._resolve(traceId, 'flush');
  }

  /** Earliest deadline, for the owner's timer; undefined when nothing is held. */
  nextDeadline(): number | undefined {
    let next: number | undefined;
    for (const queue of [this._byDeadline, this._stragglersByDeadline]) {
      for (const traceId of queue) {
        const d = this._pending.get(traceId)!.deadline;
        if (next === undefined || d < next) next = d;
        break;
      }
    }
    return next;
  }

  stats(): AssemblerStats {
    return {
      pendingTraces: this._pending.size,
      pendingSpans: this._pendingSpans,
      resolved: { ...this._resolved },
    };
  }

  private _rememberRoot(span: SpanView): void {
    if (!this._recentRoots.has(span.traceId)) {
      const evicted = this._rootRing[this._rootPos];
      if (evicted !== undefined) this._recentRoots.delete(evicted);
      this._rootRing[this._rootPos] = span.traceId;
      this._rootPos = (this._rootPos + 1) % this._rootRing.length;
    }
    this._recentRoots.set(span.traceId, span);
  }

  private _resolveOldest(): void {
    for (const traceId of this._pending.keys()) {
      this._resolve(traceId, 'overflow');
      return;
    }
  }

  private _resolve(traceId: string, cause: ResolveCause): void {
    const p = this._pending.get(traceId);
    if (!p) return;
    this._pending.delete(traceId);
    (p.straggler ? this._stragglersByDeadline : this._byDeadline).delete(traceId);
    this._pendingSpans -= p.spans.length;
    this._resolved[cause]++;
    this._opts.onResolved(p.spans, cause);
  }
}
