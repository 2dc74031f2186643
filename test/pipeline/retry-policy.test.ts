import { describe, expect, it } from 'vitest';
import type { RetryPolicy } from '../../src/pipeline/retry-policy.js';
import { DEFAULT_RETRY_POLICY, nextRetryDelay, planRetry } from '../../src/pipeline/retry-policy.js';

const P: RetryPolicy = {
  ...DEFAULT_RETRY_POLICY,
  initialMillis: 1000,
  multiplier: 2,
  maxMillis: 5000,
  jitter: 0.2,
};
const mid = (): number => 0.5; // no jitter
const low = (): number => 0; // -20 %
const high = (): number => 1; // +20 %

describe('nextRetryDelay', () => {
  it.each([
    [0, 1000],
    [1, 2000],
    [2, 4000],
    [3, 5000],
    [10, 5000],
  ])('attempt %i waits %i ms without jitter', (attempt, ms) => {
    expect(nextRetryDelay(attempt, P, undefined, mid)).toBe(ms);
  });

  it('jitters within ±20 %', () => {
    expect(nextRetryDelay(1, P, undefined, low)).toBe(1600);
    expect(nextRetryDelay(1, P, undefined, high)).toBe(2400);
  });

  it('never retries sooner than Retry-After', () => {
    expect(nextRetryDelay(0, P, 7000, high)).toBe(7000);
    expect(nextRetryDelay(2, P, 100, mid)).toBe(4000);
  });
});

describe('planRetry', () => {
  it('retries while time and attempts remain', () => {
    expect(planRetry(0, P, 0, 10_000, undefined, mid)).toEqual({ retry: true, delayMs: 1000 });
  });
  it('stops when the wait would pass the deadline', () => {
    expect(planRetry(0, P, 0, 10_000, 12_000, mid)).toEqual({ retry: false, why: 'deadline' });
    expect(planRetry(3, P, 6_000, 10_000, undefined, mid)).toEqual({ retry: false, why: 'deadline' });
  });
  it('stops after maxRetries', () => {
    expect(planRetry(P.maxRetries, P, 0, 1e9, undefined, mid)).toEqual({ retry: false, why: 'max_retries' });
  });
});
