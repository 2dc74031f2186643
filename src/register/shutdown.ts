import { diag } from '@opentelemetry/api';

const log = diag.createComponentLogger({ namespace: '@fenra/otel/register' });

export type ShutdownOutcome = 'done' | 'timeout' | 'failed';

/** Runs `work`, waiting at most `timeoutMs`; never rejects. */
export async function bounded(work: () => Promise<void>, timeoutMs: number): Promise<ShutdownOutcome> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<ShutdownOutcome>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  const run = Promise.resolve()
    .then(work)
    .then(
      (): ShutdownOutcome => 'done',
      (e: unknown): ShutdownOutcome => {
        log.error(`shutdown failed: ${e instanceof Error ? e.message : String(e)}`);
        return 'failed';
      },
    );
  try {
    return await Promise.race([run, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface ShutdownHooks {
  /** Removes the listeners (the SDK is not shut down). */
  remove(): void;
  /**
   * Runs the (once-only, bounded) shutdown now, e.g. when the app took over; the exit and signal
   * listeners stay and wait for it, then let the process end as they would.
   */
  now(): Promise<ShutdownOutcome>;
}

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/**
 * Flushes and shuts down (once, bounded by `timeoutMs`) when the event loop empties
 * (`beforeExit`) or on SIGTERM / SIGINT.
 *
 * - `beforeExit`: the process then exits as it would have, with `process.exitCode`; if the
 *   flush is still hanging at the bound, it exits at the bound.
 * - A signal: if no other listener of that signal exists, the signal is raised again once the
 *   flush is done, so the process ends by it as it would have without us; a second signal
 *   during the flush ends it at once. If the app listens too, exiting is the app's business.
 *
 * A `process.exit()` called by the app skips all of this (Node runs no async work after it).
 */
export function installShutdownHooks(shutdown: () => Promise<void>, timeoutMs: number): ShutdownHooks {
  let running: Promise<ShutdownOutcome> | undefined;
  const once = (): Promise<ShutdownOutcome> => (running ??= bounded(shutdown, timeoutMs));

  const onBeforeExit = (): void => {
    if (running !== undefined) return;
    void once().then((outcome) => {
      if (outcome === 'timeout') {
        log.warn(`flush did not finish within ${timeoutMs} ms (FENRA_SHUTDOWN_TIMEOUT_MILLIS); exiting`);
        process.exit();
      }
    });
  };

  let signalled = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    // Decided now: did the app ask to handle this signal itself?
    const appHandles = process.listenerCount(signal) > 1;
    if (signalled && !appHandles) {
      // A second signal while flushing: the user insists, stop waiting.
      remove();
      process.kill(process.pid, signal);
      return;
    }
    signalled = true;
    void once().then((outcome) => {
      if (outcome === 'timeout') log.warn(`flush did not finish within ${timeoutMs} ms on ${signal}`);
      if (appHandles) return;
      remove();
      process.kill(process.pid, signal);
    });
  };

  const remove = (): void => {
    process.removeListener('beforeExit', onBeforeExit);
    for (const s of SIGNALS) process.removeListener(s, onSignal);
  };

  process.on('beforeExit', onBeforeExit);
  for (const s of SIGNALS) process.on(s, onSignal);
  return { remove, now: once };
}
