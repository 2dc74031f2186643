import { BoundedMap } from '../internal/bounded-map.js';

/** Past this many ids a list is looked up through a Set (an agent loop of many calls). */
const SCAN_LIMIT = 16;

/**
 * Ids of one kind for one trace: the first id inline (a trace bills one call or a few, and a
 * resolved trace's decisions are kept for thousands of traces: no array for one id), then an
 * array (a scan beats hashing and allocates less), indexed by a Set once it grows, so a trace
 * of thousands of calls stays linear.
 */
class IdList {
  private _first: string | undefined;
  private _more: string[] | undefined;
  private _index: Set<string> | undefined;

  has(id: string): boolean {
    if (this._index !== undefined) return this._index.has(id);
    return id === this._first || (this._more !== undefined && this._more.includes(id));
  }

  add(id: string): void {
    if (this._first === undefined) {
      this._first = id;
      return;
    }
    if (this.has(id)) return;
    if (this._index !== undefined) {
      this._index.add(id);
      return;
    }
    (this._more ??= []).push(id);
    if (this._more.length >= SCAN_LIMIT) {
      this._index = new Set([this._first, ...this._more]);
      this._more = undefined;
    }
  }
}

/** One trace's decisions (see {@link TraceDecisions.billed}). */
export interface Decisions {
  billed: IdList;
  wrapping: IdList;
  responses: IdList;
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

  get(traceId: string): Decisions | undefined {
    return this._traces.get(traceId);
  }

  /**
   * Records a billed call: its span, the spans above it, and its provider response. `known` is
   * what `get` (or an earlier `billed`) returned for the trace, so a trace is looked up once per
   * resolution; returns the trace's decisions, to pass on for its next call.
   */
  billed(
    traceId: string,
    known: Decisions | undefined,
    spanId: string,
    ancestors: readonly string[],
    responseKey: string | undefined,
  ): Decisions {
    let d = known;
    if (d === undefined) {
      d = { billed: new IdList(), wrapping: new IdList(), responses: new IdList() };
      this._traces.set(traceId, d);
    }
    d.billed.add(spanId);
    for (let i = 0; i < ancestors.length; i++) d.wrapping.add(ancestors[i]!);
    if (responseKey !== undefined) d.responses.add(responseKey);
    return d;
  }
}
