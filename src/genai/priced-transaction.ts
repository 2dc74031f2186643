import type { FenraTransaction } from '../fenra/transaction-schema.js';
import type { PriceResult } from '../pricing/types.js';

/** One billed provider call: the exact wire body, our local price, and where it came from. */
export interface PricedTransaction {
  transaction: FenraTransaction;
  price: PriceResult;
  span: { traceId: string; spanId: string; name: string };
  /** Span end, epoch ms. */
  endTimeMs: number;
}
