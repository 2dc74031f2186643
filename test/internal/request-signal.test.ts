import { execFileSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { requestSignal } from '../../src/internal/request-signal.js';
import { MAX_TIMER_MS } from '../../src/internal/timers.js';

describe('requestSignal', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('aborts with a TimeoutError once the timeout has passed, not before', () => {
    const r = requestSignal(1000);
    vi.advanceTimersByTime(999);
    expect(r.signal.aborted).toBe(false);
    expect(r.timedOut).toBe(false);
    vi.advanceTimersByTime(1);
    expect(r.signal.aborted).toBe(true);
    expect(r.timedOut).toBe(true);
    expect((r.signal.reason as DOMException).name).toBe('TimeoutError');
    r.dispose();
  });

  it("aborts with the caller's reason when the caller's signal aborts, and that is no timeout", () => {
    const caller = new AbortController();
    const r = requestSignal(1000, caller.signal);
    const reason = new Error('shutting down');
    caller.abort(reason);
    expect(r.signal.aborted).toBe(true);
    expect(r.signal.reason).toBe(reason);
    vi.advanceTimersByTime(5000);
    expect(r.timedOut).toBe(false);
    r.dispose();
  });

  it('is aborted from the start when the caller already aborted', () => {
    const r = requestSignal(1000, AbortSignal.abort('gone'));
    expect(r.signal.aborted).toBe(true);
    expect(r.signal.reason).toBe('gone');
    r.dispose();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('leaves nothing behind once disposed: no timer, no listener on the caller', () => {
    const caller = new AbortController();
    const removed = vi.spyOn(caller.signal, 'removeEventListener');
    const r = requestSignal(1000, caller.signal);
    expect(vi.getTimerCount()).toBe(1);
    r.dispose();
    expect(vi.getTimerCount()).toBe(0);
    expect(removed).toHaveBeenCalledTimes(1);
    caller.abort();
    vi.advanceTimersByTime(5000);
    expect(r.signal.aborted).toBe(false);
    expect(r.timedOut).toBe(false);
    r.dispose(); // twice is harmless
  });

  it('clamps absurd timeouts instead of firing at once (Node fires overlong timers after 1 ms)', () => {
    const long = requestSignal(Number.POSITIVE_INFINITY);
    vi.advanceTimersByTime(10_000);
    expect(long.signal.aborted).toBe(false);
    vi.advanceTimersByTime(MAX_TIMER_MS);
    expect(long.timedOut).toBe(true);
    for (const ms of [0, -5, Number.NaN]) {
      const r = requestSignal(ms);
      vi.advanceTimersByTime(1);
      expect(r.timedOut).toBe(true);
    }
  });
});

describe('requestSignal, real timers', () => {
  it('never keeps the process alive', () => {
    // A process that only holds a 60 s request signal exits at once.
    const started = Date.now();
    execFileSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        "import('./src/internal/request-signal.ts').then((m) => { m.requestSignal(60_000); })",
      ],
      { stdio: 'pipe', timeout: 30_000 },
    );
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});
