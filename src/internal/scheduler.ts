/**
 * Time as the stages see it: a clock and one-shot timers. Production code passes real timers
 * (`KeepAlive`, or `realScheduler`); tests pass a manual clock they advance themselves.
 */
export interface Scheduler {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Wall-clock time and unref'd Node timers: they never keep the process alive on their own. */
export const realScheduler: Scheduler = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, Math.min(Math.max(ms, 0), 2 ** 31 - 1));
    t.unref();
    return t;
  },
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
