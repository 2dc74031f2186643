import type { ConversionResult } from '../genai/to-transactions.js';

/**
 * Running totals of a conversion (counted as results arrive, so a streamed conversion need not
 * keep its transactions): spans read, LLM calls, billed, unpriced, unattributed, estimated and
 * corrected usage, skipped by reason, estimated USD.
 */
export class ConvertTotals {
  spans = 0;
  llmCalls = 0;
  billed = 0;
  unpriced = 0;
  unattributed = 0;
  estimated = 0;
  corrected = 0;
  usd = 0;
  readonly skipped = new Map<string, number>();
  /** Input that could not be read (bad lines, documents, spans). */
  problems = 0;

  add(r: ConversionResult): void {
    this.spans += r.spans;
    this.llmCalls += r.llmCalls;
    this.unattributed += r.unattributed;
    this.billed += r.transactions.length;
    for (const s of r.skipped) this.skipped.set(s.reason, (this.skipped.get(s.reason) ?? 0) + 1);
    for (const t of r.transactions) {
      if (t.price.usd === null) this.unpriced++;
      else this.usd += t.price.usd;
      const ctx = t.transaction.context;
      if (ctx['usage_estimated'] === true) this.estimated++;
      if (ctx['usage_corrected'] !== undefined) this.corrected++;
    }
  }

  /** One line for standard error. */
  line(): string {
    const skippedText = [...this.skipped].map(([k, v]) => `${k}=${v}`).join(' ') || 'none';
    return (
      `spans=${this.spans} llm_calls=${this.llmCalls} billed=${this.billed} unpriced=${this.unpriced} ` +
      `unattributed=${this.unattributed}` +
      (this.estimated > 0 ? ` usage_estimated=${this.estimated}` : '') +
      (this.corrected > 0 ? ` usage_corrected=${this.corrected}` : '') +
      ` skipped: ${skippedText}` +
      (this.problems > 0 ? ` input_problems=${this.problems}` : '') +
      ` estimated_usd=${this.usd.toFixed(6)}`
    );
  }
}
