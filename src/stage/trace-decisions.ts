import type { PriorDecisions } from '../genai/dedupe.js';
import { BoundedMap } from '../internal/bounded-map.js';

/** Past this many ids a list is looked up through a Set (an agent loop of many calls). */
const SCAN_LIMIT = 16;

/**
 * Ids of one kind for one trace, past the first (which {@link Decisions} keeps inline): an
 * array (a scan beats hashing and allocates less), indexed by a Set once it grows, so a trace
 * of thousands of calls stays linear.
 */
class IdList {
  private _ids: string[] | undefined;
  private _index: Set<string> | undefined;

  constructor(first: string, second: string) {
    this._ids = [first, second];
  }

  has(id: string): boolean {
    return this._index !== undefined ? this._index.has(id) : this._ids!.includes(id);
  }

  add(id: string): void {
    if (this.has(id)) return;
    if (this._index !== undefined) {
      this._index.add(id);
      return;
    }
    this._ids!.push(id);
    if (this._ids!.length >= SCAN_LIMIT) {
      this._index = new Set(this._ids);
      this._ids = undefined;
    }
  }
}

/** One id inline, a list past one. */
type Ids = string | IdList | undefined;

const hasId = (ids: Ids, id: string): boolean =>
  ids === undefined ? false : typeof ids === 'string' ? ids === id : ids.has(id);

function addId(ids: Ids, id: string): string | IdList {
  if (ids === undefined || ids === id) return id;
  if (typeof ids === 'string') return new IdList(ids, id);
  ids.add(id);
  return ids;
}

/**
 * One trace's decisions (see {@link TraceDecisions.billed}): one object per trace, as a
 * resolved trace's decisions are kept for thousands of traces and most bill one call (one id
 * of each kind, kept inline).
 */
export class Decisions implements PriorDecisions {
  private _billed: Ids;
  private _wrapping: Ids;
  private _responses: Ids;

  isBilled(spanId: string): boolean {
    return hasId(this._billed, spanId);
  }

  isWrapping(spanId: string): boolean {
    return hasId(this._wrapping, spanId);
  }

  isResponse(key: string): boolean {
    return hasId(this._responses, key);
  }

  /** Records a billed call (see {@link TraceDecisions.billed}). */
  add(spanId: string, ancestors: readonly string[], responseKey: string | undefined): void {
    this._billed = addId(this._billed, spanId);
    for (let i = 0; i < ancestors.length; i++) this._wrapping = addId(this._wrapping, ancestors[i]!);
    if (responseKey !== undefined) this._responses = addId(this._responses, responseKey);
  }
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
      d = new Decisions();
      this._traces.set(traceId, d);
    }
    d.add(spanId, ancestors, responseKey);
    return d;
  }
}
