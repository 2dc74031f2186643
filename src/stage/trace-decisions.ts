import type { PriorDecisions } from '../genai/dedupe.js';
import { BoundedMap } from '../internal/bounded-map.js';

/** Mutable per-trace decisions; plain arrays (a trace bills a few calls: no hashing needed). */
interface Decisions {
  billed: string[];
  wrapping: string[];
  responses: string[];
}

/**
 * What was billed in recently resolved traces, so that a span arriving after its trace was
 * resolved (a straggler, an exporter's retry) is decided against it and one provider call is
 * never billed twice. Bounded: the oldest traces are forgotten first.
 */
export class TraceDecisions {
  private readonly _traces: BoundedMap<string, Decisions>;

  constructor(capacity: number) {
    this._traces = new BoundedMap(capacity);
  }

  get(traceId: string): PriorDecisions | undefined {
    return this._traces.get(traceId);
  }

  /** Records a billed call: its span, the spans above it, and its provider response. */
  billed(
    traceId: string,
    spanId: string,
    ancestors: readonly string[],
    responseKey: string | undefined,
  ): void {
    let d = this._traces.get(traceId);
    if (d === undefined) {
      d = { billed: [], wrapping: [], responses: [] };
      this._traces.set(traceId, d);
    }
    d.billed.push(spanId);
    for (let i = 0; i < ancestors.length; i++)
      if (!d.wrapping.includes(ancestors[i]!)) d.wrapping.push(ancestors[i]!);
    if (responseKey !== undefined) d.responses.push(responseKey);
  }
}
