import { describe, expect, it } from 'vitest';
import type { PricedTransaction } from '../../src/stage/priced-transaction.js';
import { Ledger } from '../../src/local/ledger.js';
import { RecordingDelivery } from '../../src/local/recording-delivery.js';
import type { DeliveryStats, Settlement, TransactionDelivery } from '../../src/sidecar/delivery.js';
import { makePriced } from '../helpers/priced.js';

/** Settles each transaction as the test says, at once. */
class ScriptedDelivery implements TransactionDelivery {
  private readonly outcome: (t: PricedTransaction) => Settlement;
  constructor(outcome: (t: PricedTransaction) => Settlement) {
    this.outcome = outcome;
  }
  send(
    items: readonly PricedTransaction[],
    onSettled: (t: PricedTransaction, s: Settlement) => void,
  ): boolean {
    for (const t of items) onSettled(t, this.outcome(t));
    return true;
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
  stats(): DeliveryStats {
    return { queued: 0, inFlight: 0, accepted: 7, rejected: 0, retries: 0, requests: 0, keyRejected: false };
  }
}

describe('RecordingDelivery', () => {
  it('adds only what the destination accepted to the ledger, and passes every settlement on', () => {
    const ledger = new Ledger();
    const inner = new ScriptedDelivery((t) =>
      t.context.billable_customer_id === 'bad'
        ? { outcome: 'rejected', reason: 'http_400' }
        : { outcome: 'accepted' },
    );
    const d = new RecordingDelivery(inner, ledger);
    const seen: string[] = [];
    const ok = d.send(
      [
        makePriced({ customer: 'acme', usd: 0.5 }),
        makePriced({ customer: 'bad' }),
        makePriced({ customer: 'acme', usd: 0.25 }),
      ],
      (t, s) => seen.push(`${t.context.billable_customer_id}:${s.outcome}`),
    );
    expect(ok).toBe(true);
    expect(seen).toEqual(['acme:accepted', 'bad:rejected', 'acme:accepted']);
    const snap = ledger.snapshot();
    expect(snap.totals).toMatchObject({ transactions: 2, usd: 0.75 });
    expect(snap.by.customer.map((c) => c.key)).toEqual(['acme']);
    expect(d.stats().accepted).toBe(7);
  });
});
