import type { ConversionStats } from '../stage/conversion-stats.js';
import type { PricedTransaction } from '../stage/priced-transaction.js';

/**
 * Running totals of a conversion, for the summary line: the stage's own counters (LLM calls,
 * billed, unpriced, unattributed, skipped by reason), plus what only the command counts (spans
 * read, input problems) and the transactions marked estimated or corrected as they come.
 */
export class ConvertTotals {
  spans = 0;
  estimated = 0;
  corrected = 0;
  usd = 0;
  /** Input that could not be read (bad lines, documents, spans). */
  problems = 0;
  private readonly _stats: ConversionStats;

  constructor(stats: ConversionStats) {
    this._stats = stats;
  }

  add(transactions: readonly PricedTransaction[]): void {
    for (const t of transactions) {
      if (t.price.usd !== null) this.usd += t.price.usd;
      if (t.context['usage_estimated'] === true) this.estimated++;
      if (t.context['usage_corrected'] !== undefined) this.corrected++;
    }
  }

  /** One line for standard error. */
  line(): string {
    const s = this._stats;
    const skippedText =
      Object.entries(s.skipped)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ') || 'none';
    return (
      `spans=${this.spans} llm_calls=${s.llmCalls} billed=${s.billed} unpriced=${s.unpriced} ` +
      `unattributed=${s.unattributed}` +
      (this.estimated > 0 ? ` usage_estimated=${this.estimated}` : '') +
      (this.corrected > 0 ? ` usage_corrected=${this.corrected}` : '') +
      ` skipped: ${skippedText}` +
      (this.problems > 0 ? ` input_problems=${this.problems}` : '') +
      ` estimated_usd=${this.usd.toFixed(6)}`
    );
  }
}
