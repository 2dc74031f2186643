import type { FenraTransaction } from '../../src/fenra/transaction-schema.js';
import type { PricedTransaction } from '../../src/stage/priced-transaction.js';

let counter = 0;

/**
 * A valid PricedTransaction (its wire body passes FenraTransactionSchema: see
 * test/fenra/ingest-server.test.ts); each has a unique `context.span_id` so tests can tell
 * deliveries apart.
 */
export function makePriced(
  over: { model?: string; usd?: number | null; customer?: string } = {},
): PricedTransaction {
  counter++;
  const spanId = counter.toString(16).padStart(16, '0');
  const traceId = '0af7651916cd43dd8448eb211c80319c';
  const input = 100 + counter;
  const usd = over.usd === undefined ? 0.0001 : over.usd;
  return {
    provider: 'openai',
    model: over.model ?? 'gpt-4o-mini',
    usage: { inputTokens: input, outputTokens: 20, totalTokens: input + 20 },
    context: { billable_customer_id: over.customer ?? 'acme', trace_id: traceId, span_id: spanId },
    price:
      usd === null
        ? { usd: null, source: 'unpriced', reason: 'unknown_model', catalog: 'test' }
        : { usd, source: 'catalog', catalog: 'test' },
    span: { traceId, spanId, name: 'chat gpt-4o-mini' },
    endTimeMs: Date.UTC(2025, 6, 1),
  };
}

export function makeBatch(n: number, over?: Parameters<typeof makePriced>[0]): PricedTransaction[] {
  return Array.from({ length: n }, () => makePriced(over));
}

/** The span ids of transactions, to compare what was sent with what arrived. */
export function spanIds(items: readonly ({ transaction: FenraTransaction } | PricedTransaction)[]): string[] {
  return items.map((i) => String(('transaction' in i ? i.transaction : i).context.span_id));
}
