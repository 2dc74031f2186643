import type { Scheduler } from '../../src/internal/scheduler.js';

/**
 * A clock and timers that move only when the test says: `advance(ms)` runs, in order, every
 * timer due by then. Nothing sleeps, so a test that something did NOT happen before a deadline
 * can fail.
 */
export class ManualScheduler implements Scheduler {
  private _now: number;
  private _seq = 0;
  private readonly _timers = new Map<number, { at: number; fn: () => void }>();

  constructor(start = Date.UTC(2026, 0, 1)) {
    this._now = start;
  }

  readonly now = (): number => this._now;

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this._seq;
    this._timers.set(id, { at: this._now + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this._timers.delete(handle as number);
  }

  /** Timers waiting. */
  get pending(): number {
    return this._timers.size;
  }

  /** Moves the clock by `ms`, running each timer when its time comes. */
  advance(ms: number): void {
    const end = this._now + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this._timers)
        if (e[1].at <= end && (next === undefined || e[1].at < next[1].at)) next = e;
      if (next === undefined) break;
      this._timers.delete(next[0]);
      this._now = Math.max(this._now, next[1].at);
      next[1].fn();
    }
    this._now = end;
  }
}
