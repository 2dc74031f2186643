import type { ConversionOptions } from '../genai/to-transactions.js';
import { convertModelCall } from '../genai/to-transactions.js';
import { detectModelCall } from '../genai/detect.js';
import type { PricedTransaction } from '../genai/priced-transaction.js';
import type { SkipReason } from '../genai/types.js';
import type { Attributes, SpanView } from '../span/span-view.js';

/** Counters of the conversion stage, shared by the processor and the exporter. */
export interface ConversionStats {
  spansSeen: number;
  llmCalls: number;
  billed: number;
  unpriced: number;
  unattributed: number;
  skipped: Partial<Record<SkipReason, number>>;
  /** Estimated USD by `provider/model` (bounded to 200 keys; the rest under `other`). */
  estimatedUsd: Record<string, number>;
}

const MAX_USD_KEYS = 200;
const CALL_REASONS = new Set<SkipReason>(['missing_usage', 'failed_no_usage', 'missing_model', 'invalid']);

export function emptyConversionStats(): ConversionStats {
  return {
    spansSeen: 0,
    llmCalls: 0,
    billed: 0,
    unpriced: 0,
    unattributed: 0,
    skipped: {},
    estimatedUsd: {},
  };
}

export function countSkip(stats: ConversionStats, reason: SkipReason): void {
  stats.skipped[reason] = (stats.skipped[reason] ?? 0) + 1;
  if (CALL_REASONS.has(reason)) stats.llmCalls++;
}

export function countBilled(stats: ConversionStats, tx: PricedTransaction, attributed: boolean): void {
  stats.llmCalls++;
  stats.billed++;
  if (!attributed) stats.unattributed++;
  if (tx.price.usd === null) {
    stats.unpriced++;
    return;
  }
  let key = `${tx.transaction.provider}/${tx.transaction.model}`;
  if (!(key in stats.estimatedUsd) && Object.keys(stats.estimatedUsd).length >= MAX_USD_KEYS) key = 'other';
  stats.estimatedUsd[key] = (stats.estimatedUsd[key] ?? 0) + tx.price.usd;
}

/** Per-span conversion with carried attribution: detect, attribute, render, price. */
export function convertSpan(
  span: SpanView,
  ancestors: readonly Attributes[],
  baggage: Attributes | undefined,
  options: ConversionOptions,
):
  | { transaction: PricedTransaction; attributed: boolean }
  | { skipped: SkipReason; detail?: string | undefined; call?: true } {
  const d = detectModelCall(span, options);
  if ('skipped' in d) return { skipped: d.skipped.reason, detail: d.skipped.detail };
  const out = convertModelCall(
    d.call,
    { span: span.attributes, ancestors, baggage, resource: span.resource },
    options,
  );
  if ('skipped' in out) return { skipped: out.skipped.reason, detail: out.skipped.detail };
  return out;
}
