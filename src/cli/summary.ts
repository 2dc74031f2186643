import type { ConversionResult } from '../genai/to-transactions.js';

/** One line: spans read, LLM calls, billed, unpriced, skipped by reason, estimated USD. */
export function summarise(r: ConversionResult, problems = 0): string {
  const skipped = new Map<string, number>();
  for (const s of r.skipped) skipped.set(s.reason, (skipped.get(s.reason) ?? 0) + 1);
  let usd = 0;
  let unpriced = 0;
  let estimated = 0;
  let corrected = 0;
  for (const t of r.transactions) {
    if (t.price.usd === null) unpriced++;
    else usd += t.price.usd;
    const ctx = t.transaction.context;
    if (ctx['usage_estimated'] === true) estimated++;
    if (ctx['usage_corrected'] !== undefined) corrected++;
  }
  const skippedText = [...skipped].map(([k, v]) => `${k}=${v}`).join(' ') || 'none';
  return (
    `spans=${r.spans} llm_calls=${r.llmCalls} billed=${r.transactions.length} unpriced=${unpriced} ` +
    `unattributed=${r.unattributed}` +
    (estimated > 0 ? ` usage_estimated=${estimated}` : '') +
    (corrected > 0 ? ` usage_corrected=${corrected}` : '') +
    ` skipped: ${skippedText}` +
    (problems > 0 ? ` input_problems=${problems}` : '') +
    ` estimated_usd=${usd.toFixed(6)}`
  );
}
