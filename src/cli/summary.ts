import type { ConversionResult } from '../genai/to-transactions.js';

/** One line: spans read, LLM calls, billed, unpriced, skipped by reason, estimated USD. */
export function summarise(r: ConversionResult, problems = 0): string {
  const skipped = new Map<string, number>();
  for (const s of r.skipped) skipped.set(s.reason, (skipped.get(s.reason) ?? 0) + 1);
  let usd = 0;
  let unpriced = 0;
  for (const t of r.transactions) {
    if (t.price.usd === null) unpriced++;
    else usd += t.price.usd;
  }
  const skippedText = [...skipped].map(([k, v]) => `${k}=${v}`).join(' ') || 'none';
  return (
    `spans=${r.spans} llm_calls=${r.llmCalls} billed=${r.transactions.length} unpriced=${unpriced} ` +
    `unattributed=${r.unattributed} skipped: ${skippedText}` +
    (problems > 0 ? ` input_problems=${problems}` : '') +
    ` estimated_usd=${usd.toFixed(6)}`
  );
}
