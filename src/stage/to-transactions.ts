import type { ConversionOptions } from '../genai/convert-trace.js';
import type { SkippedSpan } from '../genai/types.js';
import type { Pricer } from '../pricing/types.js';
import type { SpanView } from '../span/span-view.js';
import type { AncestorSource } from './ancestor-source.js';
import { ConversionStage } from './conversion-stage.js';
import type { PricedTransaction } from './priced-transaction.js';

const NOTHING_REMEMBERED: AncestorSource = {
  parentOf: () => undefined,
  rootOf: () => undefined,
  remember: () => undefined,
};

/** What the converter needs: the conversion options and a price book. */
export type ToTransactionsOptions = ConversionOptions & { pricer: Pricer };

export interface ConversionResult {
  transactions: PricedTransaction[];
  /** Why each call-like span produced no transaction. */
  skipped: SkippedSpan[];
  /** Spans read. */
  spans: number;
  /** Spans recognised as provider calls (billed or not). */
  llmCalls: number;
  /** Transactions billed to `unattributed`. */
  unattributed: number;
}

/**
 * Spans already at hand (any number of traces, any order) → priced transactions, through the
 * one conversion stage as a single delivery: what every mode bills for the same spans when they
 * arrive together. Pure.
 */
export function toTransactions(spans: Iterable<SpanView>, options: ToTransactionsOptions): ConversionResult {
  const all = [...spans];
  const result: ConversionResult = {
    transactions: [],
    skipped: [],
    spans: all.length,
    llmCalls: 0,
    unattributed: 0,
  };
  const bound = Math.max(1, all.length);
  const stage = new ConversionStage({
    conversion: options,
    pricer: options.pricer,
    maxTraces: bound,
    maxSpansPerTrace: bound + 1,
    maxHeldSpans: bound,
    now: () => 0,
    // One delivery holds everything: nothing arrives later, so nothing needs remembering.
    ancestors: NOTHING_REMEMBERED,
    onResult: (r) => {
      result.transactions.push(...r.transactions);
      result.skipped.push(...r.skipped);
    },
  });
  stage.ingest(all);
  stage.flush();
  // Every span is accounted for once: the rest are not model calls.
  const decided = new Map<string, number>();
  for (const x of [...result.transactions.map((t) => t.span), ...result.skipped]) {
    decided.set(x.spanId, (decided.get(x.spanId) ?? 0) + 1);
  }
  for (const s of all) {
    const n = decided.get(s.spanId) ?? 0;
    if (n > 0) decided.set(s.spanId, n - 1);
    else {
      result.skipped.push({
        traceId: s.traceId,
        spanId: s.spanId,
        name: s.name,
        reason: 'not_genai',
        detail: 'not a model call',
      });
    }
  }
  result.llmCalls = stage.stats.llmCalls;
  result.unattributed = stage.stats.unattributed;
  return result;
}
