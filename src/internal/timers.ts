/**
 * Timers the pipeline depends on. Node's `setTimeout` takes at most 2^31-1 ms; a longer delay
 * (a huge `Retry-After`, a misconfigured duration) fires after 1 ms with a
 * TimeoutOverflowWarning, so every delay goes through {@link timerDelay}.
 */

/** Largest delay `setTimeout` honours, ms (about 24.8 days). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** `ms` clamped to what `setTimeout` honours: NaN and negatives → 0, beyond the maximum → the maximum. */
export function timerDelay(ms: number): number {
  if (!(ms > 0)) return 0;
  return ms > MAX_TIMER_MS ? MAX_TIMER_MS : ms;
}

type Timer = ReturnType<typeof setTimeout>;

/**
 * Keeps the process alive only while someone awaits a flush, shutdown or export, as OTel's
 * BatchSpanProcessor does with its export timer. Every timer made here is unref'd (it never
 * keeps a process alive on its own) except while at least one {@link hold} is running: then all
 * of them are ref'd, so an awaited `forceFlush()` in a short-lived process is not abandoned in
 * the middle of a retry wait. Holds are bounded by their caller (the flush limit).
 */
export class KeepAlive {
  private readonly _timers = new Set<Timer>();
  private _holds = 0;

  /** A one-shot timer whose ref state follows the holds. */
  setTimeout(fn: () => void, ms: number): Timer {
    const timer: Timer = setTimeout(() => {
      this._timers.delete(timer);
      fn();
    }, timerDelay(ms));
    if (this._holds === 0) timer.unref();
    this._timers.add(timer);
    return timer;
  }

  clearTimeout(timer: Timer | undefined): void {
    if (timer === undefined) return;
    clearTimeout(timer);
    this._timers.delete(timer);
  }

  /** Waits `ms`, or less if `signal` aborts. Never rejects. */
  readonly sleep = (ms: number, signal: AbortSignal): Promise<void> =>
    new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      const done = (): void => {
        this.clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = this.setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
    });

  /** Runs `work` with every timer of this instance ref'd (the process waits for them). */
  /**
   * Waits for `work` (settled either way) or `ms`, whichever comes first: true when `work`
   * settled in time. The timer follows the holds like every other one here. Never rejects.
   */
  race(work: Promise<unknown>, ms: number): Promise<boolean> {
    let timer: Timer | undefined;
    return Promise.race([
      work.then(
        () => true,
        () => true,
      ),
      new Promise<boolean>((resolve) => {
        timer = this.setTimeout(() => resolve(false), ms);
      }),
    ]).finally(() => this.clearTimeout(timer));
  }

  async hold<T>(work: () => Promise<T>): Promise<T> {
    if (this._holds++ === 0) for (const t of this._timers) t.ref();
    try {
      return await work();
    } finally {
      if (--this._holds === 0) for (const t of this._timers) t.unref();
    }
  }
}
