import { diag } from '@opentelemetry/api';
import type { ExitOutcome } from '../internal/exit-flush.js';
import { bounded, flushAtExit } from '../internal/exit-flush.js';

const log = diag.createComponentLogger({ namespace: '@fenra/otel/register' });

export type ShutdownOutcome = ExitOutcome;

export interface ShutdownHooks {
  /** Stops flushing at exit (the SDK is not shut down). */
  remove(): void;
  /**
   * Runs the (once-only, bounded) shutdown now, e.g. when the app took over; at exit the
   * listeners wait for it, then let the process end as they would.
   */
  now(): Promise<ShutdownOutcome>;
}

/**
 * The register entry's provider is shut down (once, within `timeoutMs`) at exit: when the event
 * loop empties and on SIGTERM / SIGINT, through the one exit-flush mechanism every processor
 * shares (src/internal/exit-flush.ts: the process ends as it would have, by the signal unless
 * the app listens to it itself).
 */
export function installShutdownHooks(
  shutdown: () => Promise<void>,
  timeoutMs: number,
  reportUndelivered: () => void = () => undefined,
): ShutdownHooks {
  let running: Promise<ShutdownOutcome> | undefined;
  const once = (): Promise<ShutdownOutcome> =>
    (running ??= bounded(shutdown, timeoutMs, (e: unknown) =>
      log.error(`shutdown failed: ${e instanceof Error ? e.message : String(e)}`),
    ));
  const remove = flushAtExit({
    run: () => once().then(() => undefined),
    timeoutMillis: timeoutMs,
    after: (outcome, trigger) => {
      if (outcome !== 'timeout') return;
      log.warn(
        `flush did not finish within ${timeoutMs} ms ${trigger === 'beforeExit' ? 'at exit' : `on ${trigger}`} (FENRA_SHUTDOWN_TIMEOUT_MILLIS); exiting`,
      );
      // What is still queued or in flight is lost: say how much and why.
      reportUndelivered();
    },
  });
  return { remove, now: once };
}
