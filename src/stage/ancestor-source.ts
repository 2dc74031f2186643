import type { SpanView } from '../span/span-view.js';
import type { ResolveCause } from './trace-holder.js';

/**
 * Where the conversion stage finds spans of a trace it does not hold: the parent of a held span
 * that arrived earlier (an app span that ended before the LLM span inside it was exported), and
 * the trace's local root when it arrived before a call (a straggler). Only spans that have
 * arrived (ended) count, so every mode sees the same spans: out of process they are remembered
 * by {@link SpanMemory}; in process the SDK's parent links give them. `cause` says why the
 * trace is being resolved: when it is not its root's arrival (a wait expired, a bound, a flush),
 * the root is still running, and a source that can read running spans (in process) may.
 */
export interface AncestorSource {
  /** The span's parent, if it has arrived and is known here. */
  parentOf(span: SpanView, cause?: ResolveCause): SpanView | undefined;
  /** The local root of the span's trace, if it has arrived and is known here. */
  rootOf(span: SpanView, cause?: ResolveCause): SpanView | undefined;
  /** A span the stage does not hold (or no longer holds) which a later call may need. */
  remember(span: SpanView): void;
}
