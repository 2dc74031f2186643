import { diag } from '@opentelemetry/api';
import { boundedKey } from '../internal/meter-binding.js';
import { pairKey } from '../internal/pair-key.js';
import { RateLimitedReport } from '../internal/rate-limited.js';
import { errorText, safely } from '../internal/safe.js';
import type { PricedTransaction } from '../stage/priced-transaction.js';
import type { DropReason, FailReason, PipelineStats } from './stats.js';

/** How a group of transactions ended. Every enqueued transaction is settled exactly once. */
export type Settlement =
  /** The destination took them: a durable spool may forget them. */
  | { kind: 'accepted' }
  /** The destination refused them for good (a rule isolated to them, a non-retryable 207 item, another 4xx). */
  | { kind: 'failed'; reason: FailReason; message: string }
  /** Never delivered (queue full, shutdown, disabled): a durable spool keeps them for the next start. */
  | { kind: 'dropped'; reason: DropReason };

export type SettledHook = (items: readonly PricedTransaction[], outcome: Settlement) => void;

/** An export waiting for its transactions (see `DeliveryPipeline.enqueueAndWait`). */
export interface ItemWaiter {
  left: number;
}

const log = diag.createComponentLogger({ namespace: '@fenra/otel/delivery' });

/** Interval between repeated warnings of one kind, ms. */
export const REPORT_INTERVAL_MS = 60_000;

/**
 * The settlement ledger: says, exactly once per transaction, how it ended; counts it (accepted,
 * failed or dropped by reason, possible duplicates, the local price of what was accepted); tells
 * the owner's hook; releases the exports waiting for it; and explains refusals once per interval.
 */
export class SettlementLedger {
  private readonly _stats: PipelineStats;
  private readonly _hooks: SettledHook[] = [];
  private readonly _waiters = new Map<PricedTransaction, ItemWaiter>();
  /** Transactions that may already be at the destination (an answer was lost). */
  private readonly _maybeSent = new WeakSet<PricedTransaction>();
  private readonly _usdByModel = new Map<string, { provider: string; model: string; usd: number }>();
  private readonly _rejections: RateLimitedReport;
  private _lastRejection = '';
  private readonly _onRelease: () => void;

  constructor(stats: PipelineStats, now: () => number, onRelease: () => void) {
    this._stats = stats;
    this._onRelease = onRelease;
    this._rejections = new RateLimitedReport(REPORT_INTERVAL_MS, now, (n) =>
      log.error(`Fenra refused ${n} transaction(s) for good; last reason: ${this._lastRejection}`),
    );
  }

  /** Adds a hook called once per settled group; a throwing hook is logged and ignored. */
  onSettled(hook: SettledHook): void {
    this._hooks.push(hook);
  }

  /** Local price estimate of accepted transactions by provider and model (at most 200 pairs). */
  get usdByModel(): ReadonlyMap<string, { provider: string; model: string; usd: number }> {
    return this._usdByModel;
  }

  /** The destination may already hold these (a request of them got no answer). */
  markMaybeSent(items: readonly PricedTransaction[]): void {
    for (const i of items) this._maybeSent.add(i);
  }

  accept(items: readonly PricedTransaction[]): void {
    if (items.length === 0) return;
    const s = this._stats;
    s.accepted += items.length;
    for (const item of items) {
      if (this._maybeSent.has(item)) s.possibleDuplicates++;
      const usd = item.price.usd;
      if (usd === null) s.unpriced++;
      else {
        s.estimatedUsd += usd;
        this._addUsd(item.provider, item.model, usd);
      }
    }
    this._settle(items, { kind: 'accepted' });
  }

  fail(items: readonly PricedTransaction[], reason: FailReason, message: string): void {
    if (items.length === 0) return;
    this._stats.failed[reason] += items.length;
    this._lastRejection = message;
    this._rejections.note(items.length);
    this._settle(items, { kind: 'failed', reason, message });
  }

  drop(items: readonly PricedTransaction[], reason: DropReason): void {
    if (items.length === 0) return;
    this._stats.dropped[reason] += items.length;
    this._settle(items, { kind: 'dropped', reason });
  }

  /** Registers a waiter for the transactions not already awaited; returns it (left 0: nothing to wait for). */
  wait(items: readonly PricedTransaction[]): ItemWaiter {
    const waiter: ItemWaiter = { left: 0 };
    for (const item of items) {
      if (this._waiters.has(item)) continue;
      this._waiters.set(item, waiter);
      waiter.left++;
    }
    return waiter;
  }

  /** Forgets a waiter that stopped waiting. */
  unwait(items: readonly PricedTransaction[], waiter: ItemWaiter): void {
    for (const item of items) if (this._waiters.get(item) === waiter) this._waiters.delete(item);
  }

  /** Says what is still unreported (shutdown). */
  flushReports(): void {
    this._rejections.flush();
  }

  private _addUsd(provider: string, model: string, usd: number): void {
    const key = boundedKey(this._usdByModel, pairKey(provider, model));
    const entry = this._usdByModel.get(key);
    if (entry !== undefined) entry.usd += usd;
    else
      this._usdByModel.set(
        key,
        key === 'other' ? { provider: 'other', model: 'other', usd } : { provider, model, usd },
      );
  }

  private _settle(items: readonly PricedTransaction[], outcome: Settlement): void {
    if (this._waiters.size > 0) this._release(items);
    for (const hook of this._hooks) {
      safely(
        () => hook(items, outcome),
        (e) => log.error(`onSettled callback threw: ${errorText(e)}`),
        undefined,
      );
    }
  }

  private _release(items: readonly PricedTransaction[]): void {
    let released = false;
    for (const item of items) {
      const w = this._waiters.get(item);
      if (w === undefined) continue;
      this._waiters.delete(item);
      if (--w.left === 0) released = true;
    }
    if (released) this._onRelease();
  }
}
