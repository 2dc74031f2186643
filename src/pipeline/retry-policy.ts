/**
 * Pure retry arithmetic: exponential backoff with jitter and a cap, never sooner than the
 * server's `Retry-After`, within one deadline per batch. Randomness is a parameter.
 */

export interface RetryPolicy {
  /** First backoff, ms. */
  initialMillis: number;
  /** Growth per attempt. */
  multiplier: number;
  /** Largest backoff before jitter, ms. */
  maxMillis: number;
  /** Jitter as a fraction of the backoff: 0.2 means ±20 %. */
  jitter: number;
  /** Most retries of one batch (attempts = retries + 1). */
  maxRetries: number;
  /** Largest `Retry-After` honoured, ms; a longer one ends the retries of this batch. */
  maxRetryAfterMillis: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  initialMillis: 1_000,
  multiplier: 1.5,
  maxMillis: 5_000,
  jitter: 0.2,
  maxRetries: 5,
  maxRetryAfterMillis: 60_000,
};

/**
 * The wait before retry number `attempt` (0 for the first retry), in ms: the capped
 * exponential backoff, jittered, and never less than `retryAfterMs`.
 */
export function nextRetryDelay(
  attempt: number,
  policy: RetryPolicy,
  retryAfterMs?: number,
  random: () => number = Math.random,
): number {
  const base = Math.min(policy.initialMillis * policy.multiplier ** Math.max(0, attempt), policy.maxMillis);
  const jittered = base * (1 + (random() * 2 - 1) * policy.jitter);
  return Math.max(0, Math.round(jittered), Math.ceil(retryAfterMs ?? 0));
}

export type RetryDecision =
  { retry: true; delayMs: number } | { retry: false; why: 'max_retries' | 'deadline' };

/**
 * Whether to retry at all, and after how long: no when the retries are used up, or when the
 * wait would end past `deadlineMs` (or the server asks for more than `maxRetryAfterMillis`).
 */
export function planRetry(
  attempt: number,
  policy: RetryPolicy,
  nowMs: number,
  deadlineMs: number,
  retryAfterMs?: number,
  random: () => number = Math.random,
): RetryDecision {
  if (attempt >= policy.maxRetries) return { retry: false, why: 'max_retries' };
  if (retryAfterMs !== undefined && retryAfterMs > policy.maxRetryAfterMillis)
    return { retry: false, why: 'deadline' };
  const delayMs = nextRetryDelay(attempt, policy, retryAfterMs, random);
  if (nowMs + delayMs >= deadlineMs) return { retry: false, why: 'deadline' };
  return { retry: true, delayMs };
}
