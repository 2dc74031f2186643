import { diag } from '@opentelemetry/api';
import type { Sleep } from '../internal/sleep.js';
import type { PricedTransaction } from '../stage/priced-transaction.js';
import type { RetryPolicy } from './retry-policy.js';
import { planRetry } from './retry-policy.js';
import type { BatchResult, BatchSender, SendOutcome, TransactionSender } from './sender.js';
import { emptyResult } from './sender.js';
import type { PipelineStats } from './stats.js';

/**
 * Longest pause after a batch used its retry budget, ms: a server asking for more (a huge
 * `Retry-After`) is honoured up to this, then the queue is tried again.
 */
export const MAX_PAUSE_MS = 5 * 60_000;

export interface RetryingSenderDeps {
  now: () => number;
  /** Backoff waits; must resolve early when `signal` aborts. */
  sleep: Sleep;
  random: () => number;
  policy: RetryPolicy;
  /** Bound of one request, ms (it grows after timeouts, see {@link RequestTimeout}). */
  requestTimeoutMillis: number;
  /** Aborted at shutdown: waits end, requests are cancelled. */
  signal: AbortSignal;
  /** Counters of requests, bytes and transactions on the wire. */
  stats: PipelineStats;
  /** Told about transactions whose request got no answer (a resend may be a second copy). */
  maybeSent: (items: readonly PricedTransaction[]) => void;
  /** Told, before each request, what it carries (a durable spool notes it). */
  sending: (items: readonly PricedTransaction[]) => void;
  /**
   * Told about each retryable failure: its outcome, the transactions at risk, and the attempt
   * (0: the batch's first try), so that a problem can be said once, with its cause.
   */
  failed?: (outcome: Extract<SendOutcome, { kind: 'retryable' }>, atRisk: number, attempt: number) => void;
}

const log = diag.createComponentLogger({ namespace: '@fenra/otel/delivery' });

/**
 * The request timeout, learnt: a destination that records a batch but answers after the
 * timeout would otherwise get the same batch again at every attempt. After a timeout the bound
 * doubles (up to 64 times the configured value, and never past the batch's deadline); each
 * answer brings it back down by a tenth, never below four times that answer's latency. So a slow destination costs at most one copy per batch whose answer was
 * genuinely lost.
 */
class RequestTimeout {
  private readonly _base: number;
  private _ms: number;
  constructor(base: number) {
    this._base = base;
    this._ms = base;
  }
  get ms(): number {
    return this._ms;
  }
  timedOut(): void {
    this._ms = Math.min(this._ms * 2, this._base * 64);
  }
  /** An answer came: the bound eases back by a tenth, never below four times that latency. */
  answered(latencyMs: number): void {
    if (this._ms > this._base) this._ms = Math.max(this._base, latencyMs * 4, this._ms * 0.9);
  }
}

/**
 * A sender that retries: retryable outcomes (408/429/5xx, network errors, timeouts) are sent
 * again with capped exponential backoff and jitter, never sooner than `Retry-After`, while the
 * batch's deadline allows; of a 207 only the retryable items are sent again. What cannot be
 * delivered in time is kept (back to the queue) with a pause; a refused key or endpoint is
 * kept with a block; a batch refused as a whole is handed back for bisection.
 */
export class RetryingSender implements BatchSender {
  private readonly _inner: TransactionSender;
  private readonly _d: RetryingSenderDeps;
  private readonly _timeout: RequestTimeout;

  constructor(inner: TransactionSender, deps: RetryingSenderDeps) {
    this._inner = inner;
    this._d = deps;
    this._timeout = new RequestTimeout(deps.requestTimeoutMillis);
  }

  /** The request bound in force now, ms. */
  get requestTimeoutMillis(): number {
    return this._timeout.ms;
  }

  async deliver(items: PricedTransaction[], deadline: number): Promise<BatchResult> {
    const d = this._d;
    const out = emptyResult();
    let pending = items;
    for (let attempt = 0; ; attempt++) {
      if (d.signal.aborted) return keep(out, pending, { kind: 'aborted' });
      const remaining = deadline - d.now();
      if (remaining <= 0) return this._giveUp(out, pending, 'no time left for another attempt', undefined);

      const outcome = await this._send(pending, Math.min(this._timeout.ms, remaining));
      let retryAfterMs: number | undefined;
      let why: string;
      switch (outcome.kind) {
        case 'accepted':
          out.accepted.push(...pending);
          return out;
        case 'partial': {
          const retry: PricedTransaction[] = [];
          outcome.items.forEach((r, i) => {
            const item = pending[i];
            if (item === undefined) return;
            if (r.status === 'accepted') out.accepted.push(item);
            else if (r.status === 'retryable') retry.push(item);
            else out.refused.push({ items: [item], reason: 'rejected', message: r.message });
          });
          // Items the answer did not cover at all are retried.
          for (let i = outcome.items.length; i < pending.length; i++) retry.push(pending[i]!);
          if (retry.length === 0) return out;
          pending = retry;
          retryAfterMs = outcome.retryAfterMs;
          why = `207 with ${retry.length} retryable failure(s)`;
          break;
        }
        case 'rejected':
          out.refusedWhole = { items: pending, message: outcome.message };
          return out;
        case 'unauthorized':
          return keep(out, pending, {
            kind: 'blocked',
            state: 'unauthorized',
            status: outcome.status,
            message: outcome.message,
          });
        case 'misconfigured':
          return keep(out, pending, {
            kind: 'blocked',
            state: 'endpoint_rejected',
            status: outcome.status,
            message: outcome.message,
          });
        case 'failed':
          out.refused.push({ items: pending, reason: 'http_error', message: outcome.message });
          return out;
        case 'aborted':
          return keep(out, pending, { kind: 'aborted' });
        case 'retryable':
          if (outcome.maybeDelivered === true) d.maybeSent(pending);
          d.failed?.(outcome, pending.length, attempt);
          retryAfterMs = outcome.retryAfterMs;
          why = outcome.message;
          break;
      }

      const plan = planRetry(attempt, d.policy, d.now(), deadline, retryAfterMs, d.random);
      if (!plan.retry) return this._giveUp(out, pending, why, retryAfterMs);
      log.verbose(`retrying ${pending.length} transaction(s) in ${plan.delayMs} ms: ${why}`);
      d.stats.retries++;
      await d.sleep(plan.delayMs, d.signal);
    }
  }

  private async _send(items: readonly PricedTransaction[], timeoutMs: number): Promise<SendOutcome> {
    const s = this._d.stats;
    s.requests++;
    s.sent += items.length;
    s.inFlight += items.length;
    const started = this._d.now();
    try {
      this._d.sending(items);
      const { outcome, bytes } = await this._inner.send(items, { timeoutMs, signal: this._d.signal });
      s.bytes += bytes;
      if (outcome.kind === 'retryable' && outcome.reason === 'timeout') this._timeout.timedOut();
      else if (outcome.kind !== 'aborted') this._timeout.answered(this._d.now() - started);
      return outcome;
    } finally {
      s.inFlight -= items.length;
    }
  }

  /** The retry budget ran out: kept, with a pause before the queue is tried again. */
  private _giveUp(
    out: BatchResult,
    pending: PricedTransaction[],
    why: string,
    retryAfterMs: number | undefined,
  ): BatchResult {
    // Never sooner than the server asked, never longer than MAX_PAUSE_MS (a huge Retry-After
    // must not park the queue for days, nor overflow a timer).
    const ms = Math.min(Math.max(retryAfterMs ?? 0, this._d.policy.maxMillis), MAX_PAUSE_MS);
    return keep(out, pending, { kind: 'backoff', ms, why });
  }
}

function keep(out: BatchResult, items: PricedTransaction[], hold: BatchResult['hold']): BatchResult {
  out.kept.push(...items);
  if (hold !== undefined) out.hold = hold;
  return out;
}
