import type { Sleep } from '../../src/internal/sleep.js';

export interface RecordingSleep {
  sleep: Sleep;
  /** Every delay asked for, ms, in order. */
  readonly delays: number[];
  /** Lets the held sleeps (those of at least `holdAtLeastMs`) end. */
  release(): void;
}

/**
 * A sleep for tests: records the delay and resolves at once, except delays of at least
 * `holdAtLeastMs`, which wait for `release()` or the abort signal.
 */
export function recordingSleep(holdAtLeastMs = Infinity): RecordingSleep {
  const delays: number[] = [];
  let held: (() => void)[] = [];
  return {
    delays,
    sleep: (ms, signal) => {
      delays.push(ms);
      if (ms < holdAtLeastMs || signal.aborted) return Promise.resolve();
      return new Promise<void>((resolve) => {
        held.push(resolve);
        signal.addEventListener('abort', () => resolve(), { once: true });
      });
    },
    release: () => {
      const h = held;
      held = [];
      for (const r of h) r();
    },
  };
}
