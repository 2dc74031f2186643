import type { PricedTransaction } from '../stage/priced-transaction.js';

/**
 * What the sidecar needs from the export pipeline: take transactions, and say for each one,
 * exactly once, whether Fenra accepted it or refused it for good. Anything else (a retryable
 * failure, an outage, a rejected key) keeps it queued. `dropped` means it left the queue
 * undelivered (shutdown, no key): a durable spool keeps it for the next start.
 * Implementations: `PipelineDelivery` (Fenra, over the shared DeliveryPipeline) and the local
 * sink's delivery.
 */
export type Settlement =
  { outcome: 'accepted' } | { outcome: 'rejected'; reason: string } | { outcome: 'dropped'; reason: string };

export interface DeliveryStats {
  queued: number;
  inFlight: number;
  accepted: number;
  rejected: number;
  retries: number;
  requests: number;
  /** True while Fenra answers 401 (the key is missing, wrong or revoked). */
  keyRejected: boolean;
}

export interface TransactionDelivery {
  /** Takes the transactions, or returns false (taking none) when the queue has no room. */
  send(
    items: readonly PricedTransaction[],
    onSettled: (item: PricedTransaction, s: Settlement) => void,
  ): boolean;
  /** Tries to deliver everything queued within the deadline; never rejects. */
  forceFlush(deadlineMillis: number): Promise<void>;
  /** Stops timers and aborts requests in flight (their transactions stay unsettled). */
  shutdown(): Promise<void>;
  stats(): DeliveryStats;
}
