import type { SpanView } from '../span/span-view.js';
import { isLocalRoot } from '../span/span-view.js';
import type { ConversionOptions, ConversionResult } from './to-transactions.js';
import { receivedAgain, toTransactions } from './to-transactions.js';
import type { SkippedSpan } from './types.js';

/** Memory bounds of {@link TraceStream}. */
export interface TraceStreamLimits {
  /** Spans held while their traces may still grow; past it the oldest traces are converted. */
  maxHeldSpans: number;
  /** Converted spans remembered, so one delivered again later is still billed once. */
  rememberSpans: number;
}

const DEFAULT_LIMITS: TraceStreamLimits = { maxHeldSpans: 20_000, rememberSpans: 200_000 };

interface HeldTrace {
  spans: SpanView[];
  /** Its root span (no parent) has arrived: the trace is most likely complete. */
  rooted: boolean;
}

/**
 * `toTransactions` over a stream of spans in bounded memory (back-fills of files larger than
 * memory). Spans are grouped by trace and converted when the stream ends, or, past
 * `maxHeldSpans` (20,000 by default), the oldest traces first, those whose root has arrived before the others.
 * An input that fits the bound converts exactly as `toTransactions` on all of it. Pure.
 */
export class TraceStream {
  private readonly _limits: TraceStreamLimits;
  private readonly _traces = new Map<string, HeldTrace>();
  private _held = 0;
  private readonly _converted = new Set<string>();
  private _repeats: SkippedSpan[] = [];
  private readonly _options: ConversionOptions;

  constructor(options: ConversionOptions, limits: Partial<TraceStreamLimits> = {}) {
    this._options = options;
    this._limits = { ...DEFAULT_LIMITS, ...limits };
  }

  /** Adds spans; returns what had to be converted early to stay within the bound, if anything. */
  add(spans: readonly SpanView[]): ConversionResult | undefined {
    for (const span of spans) {
      if (this._converted.has(`${span.traceId}/${span.spanId}`)) {
        this._repeats.push(receivedAgain(span));
        continue;
      }
      let t = this._traces.get(span.traceId);
      if (t === undefined) this._traces.set(span.traceId, (t = { spans: [], rooted: false }));
      t.spans.push(span);
      if (isLocalRoot(span)) t.rooted = true;
      this._held++;
    }
    if (this._held <= this._limits.maxHeldSpans) {
      return this._repeats.length > 0 ? this._convert([]) : undefined;
    }
    // Convert down to half the bound: complete traces (root arrived) first, oldest first.
    const target = this._limits.maxHeldSpans >> 1;
    const chosen: SpanView[] = [];
    for (const rooted of [true, false]) {
      for (const [id, t] of this._traces) {
        if (this._held <= target) break;
        if (t.rooted !== rooted) continue;
        this._take(id, t, chosen);
      }
    }
    return this._convert(chosen);
  }

  /** Converts everything still held. */
  end(): ConversionResult {
    const all: SpanView[] = [];
    for (const [id, t] of this._traces) this._take(id, t, all);
    return this._convert(all);
  }

  private _take(id: string, t: HeldTrace, into: SpanView[]): void {
    this._traces.delete(id);
    this._held -= t.spans.length;
    for (const s of t.spans) into.push(s);
  }

  private _convert(spans: SpanView[]): ConversionResult {
    const result = toTransactions(spans, this._options);
    for (const s of spans) this._converted.add(`${s.traceId}/${s.spanId}`);
    // Oldest first out of the memory of converted spans.
    let excess = this._converted.size - this._limits.rememberSpans;
    if (excess > 0) {
      for (const key of this._converted) {
        this._converted.delete(key);
        if (--excess === 0) break;
      }
    }
    if (this._repeats.length > 0) {
      result.skipped.push(...this._repeats);
      result.spans += this._repeats.length;
      this._repeats = [];
    }
    return result;
  }
}
