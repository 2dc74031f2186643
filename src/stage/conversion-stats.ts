import type { SkipReason } from '../genai/types.js';
import { CALL_REASONS } from '../genai/convert-trace.js';
import { pairKey } from '../internal/pair-key.js';
import type { PricedTransaction } from './priced-transaction.js';

/** Counters of the conversion stage: the same in every mode. */
export interface ConversionStats {
  /** Spans the entry point was given. */
  spansSeen: number;
  /** Spans recognised as provider calls (billed or not). */
  llmCalls: number;
  billed: number;
  unpriced: number;
  /** Billed to `unattributed`: no customer key matched and no default is configured. */
  unattributed: number;
  skipped: Partial<Record<SkipReason, number>>;
  /** Estimated USD by `provider/model` (bounded to 200 keys; the rest under `other`). */
  estimatedUsd: Record<string, number>;
}

const MAX_USD_KEYS = 200;

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
  let key = pairKey(tx.provider, tx.model);
  if (!(key in stats.estimatedUsd) && Object.keys(stats.estimatedUsd).length >= MAX_USD_KEYS) key = 'other';
  stats.estimatedUsd[key] = (stats.estimatedUsd[key] ?? 0) + tx.price.usd;
}
