import type { TransactionContext } from '../genai/context.js';
import type { FenraProvider, Usage } from '../genai/types.js';
import type { PriceResult } from '../pricing/types.js';

/** Where a transaction came from. */
export interface SpanRef {
  traceId: string;
  spanId: string;
  name: string;
}

/**
 * One billed provider call, wire-free: what is billed (provider, model, tier, usage in the one
 * inclusive convention), to whom and in which context, our local price, and the span it came
 * from. `src/fenra` renders it into Fenra's wire body; nothing before the wire knows that shape.
 */
export interface PricedTransaction {
  provider: FenraProvider;
  model: string;
  modelTier?: string | undefined;
  usage: Usage;
  context: TransactionContext;
  price: PriceResult;
  span: SpanRef;
  /** Span end, epoch ms. */
  endTimeMs: number;
}
