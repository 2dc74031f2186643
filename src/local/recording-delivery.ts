import type { PricedTransaction } from '../stage/priced-transaction.js';
import type { DeliveryStats, Settlement, TransactionDelivery } from '../sidecar/delivery.js';
import type { Ledger } from './ledger.js';
import { toLocalRecord } from './records.js';

/**
 * Wraps the sidecar's delivery to Fenra so the inspector can show what Fenra accepted since
 * the sidecar started (in memory only; the local sink is the persistent record in local mode).
 */
export class RecordingDelivery implements TransactionDelivery {
  private readonly _inner: TransactionDelivery;
  private readonly _ledger: Ledger;
  private readonly _now: () => number;

  constructor(inner: TransactionDelivery, ledger: Ledger, now: () => number = Date.now) {
    this._inner = inner;
    this._ledger = ledger;
    this._now = now;
  }

  send(
    items: readonly PricedTransaction[],
    onSettled: (item: PricedTransaction, s: Settlement) => void,
  ): boolean {
    return this._inner.send(items, (item, s) => {
      if (s.outcome === 'accepted') this._ledger.add(toLocalRecord(item, this._now()));
      onSettled(item, s);
    });
  }

  forceFlush(deadlineMillis: number): Promise<void> {
    return this._inner.forceFlush(deadlineMillis);
  }

  shutdown(): Promise<void> {
    return this._inner.shutdown();
  }

  stats(): DeliveryStats {
    return this._inner.stats();
  }
}
