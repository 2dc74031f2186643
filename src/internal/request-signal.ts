import { timerDelay } from './timers.js';

/** The abort signal of one outgoing request, and what made it fire. */
export interface RequestSignal {
  readonly signal: AbortSignal;
  /** Our own timer fired (the request took longer than its timeout). */
  readonly timedOut: boolean;
  /** Stops the timer and the watch on the caller's signal. Call it once the request is over. */
  dispose(): void;
}

/**
 * A signal that aborts after `timeoutMs` (a `TimeoutError`, as `AbortSignal.timeout` gives) or
 * when `outer` aborts (with its reason), whichever comes first.
 *
 * It does what `AbortSignal.any([AbortSignal.timeout(ms), outer])` does, at a fraction of the
 * cost, and leaves nothing behind: on Node 20 that pair cost about 15 µs of CPU per request
 * (the composite signal's weak tracking), against 2–3 µs for a controller, one timer and one
 * listener; and the timeout signal's timer stayed pending until it fired or the signal was
 * collected, where this one is cleared by `dispose()`. The timer never keeps the process alive.
 */
export function requestSignal(timeoutMs: number, outer?: AbortSignal): RequestSignal {
  const controller = new AbortController();
  let timedOut = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onOuter: (() => void) | undefined;
  // Whichever fires first stops the other: a timeout after the caller's abort is no timeout.
  const dispose = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (onOuter !== undefined) outer!.removeEventListener('abort', onOuter);
    onOuter = undefined;
  };
  if (outer?.aborted === true) controller.abort(outer.reason);
  else {
    timer = setTimeout(
      () => {
        dispose();
        timedOut = true;
        controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
      },
      Math.max(1, Math.floor(timerDelay(timeoutMs))),
    );
    timer.unref();
    if (outer !== undefined) {
      onOuter = () => {
        dispose();
        controller.abort(outer.reason);
      };
      outer.addEventListener('abort', onOuter, { once: true });
    }
  }
  return {
    signal: controller.signal,
    get timedOut() {
      return timedOut;
    },
    dispose,
  };
}
