import type { Usage } from '../genai/types.js';
import type { PricedTransaction } from '../stage/priced-transaction.js';
import { withCallContext } from './call-context.js';
import { compileAcceptance } from './compiled-check.js';
import { IMAGE_COUNT_METRIC, tokenMetrics } from './metric-names.js';
import type { FenraTransaction, UsageEntry } from './transaction-schema.js';
import { fenraTransactionSchema } from './transaction-schema.js';

/** Usage → Fenra's `usage` array (token metrics, plus generated images when known). */
export function renderUsage(provider: PricedTransaction['provider'], usage: Usage): UsageEntry[] {
  const entries: UsageEntry[] = [{ type: 'tokens', metrics: tokenMetrics(provider, usage) }];
  if (usage.imagesGenerated !== undefined && usage.imagesGenerated > 0) {
    entries.push({ type: 'images', metrics: { [IMAGE_COUNT_METRIC]: usage.imagesGenerated } });
  }
  return entries;
}

/** The exact wire body of one transaction. */
export function renderTransaction(t: PricedTransaction): FenraTransaction {
  const tx: FenraTransaction = {
    provider: t.provider,
    model: t.model,
    usage: renderUsage(t.provider, t.usage),
    context: withCallContext(t.context, t.usage),
  };
  if (t.modelTier !== undefined) tx.model_tier = t.modelTier;
  return tx;
}

/** Compiled from the schema at the first validation: true only for transactions the schema accepts. */
let acceptable: ((tx: unknown) => boolean) | undefined;

/**
 * Validates against the wire schema; returns a readable reason on failure. The common case (a
 * valid transaction) is answered by the check compiled from the schema; anything it does not
 * accept is parsed by zod itself, which gives the verdict and the reason.
 */
export function validateTransaction(tx: unknown): string | undefined {
  acceptable ??= compileAcceptance(fenraTransactionSchema());
  if (acceptable(tx)) return undefined;
  const r = fenraTransactionSchema().safeParse(tx);
  if (r.success) return undefined;
  return r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}
