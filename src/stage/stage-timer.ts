import type { Scheduler } from '../internal/scheduler.js';

interface Expiring {
  expire(): void;
  nextDeadline(): number | undefined;
}

/** Shortest wait between two expiry runs, ms: a burst of deadlines is handled in one run. */
const MIN_WAIT_MS = 10;

/**
 * Keeps one timer at the stage's next deadline and runs `expire()` then (and `after`, e.g. to
 * retry what waits for room). `kick()` after every delivery moves it earlier when needed.
 */
export class StageTimer {
  private readonly _stage: Expiring;
  private readonly _scheduler: Scheduler;
  private readonly _onError: (e: unknown) => void;
  private readonly _after: (() => void) | undefined;
  private _handle: unknown;
  private _at = 0;

  constructor(stage: Expiring, scheduler: Scheduler, onError: (e: unknown) => void, after?: () => void) {
    this._stage = stage;
    this._scheduler = scheduler;
    this._onError = onError;
    this._after = after;
  }

  kick(): void {
    const next = this._stage.nextDeadline();
    if (next === undefined) return;
    const now = this._scheduler.now();
    const at = Math.max(next, now + MIN_WAIT_MS);
    if (this._handle !== undefined) {
      if (this._at <= at) return;
      this._scheduler.clearTimeout(this._handle);
    }
    this._at = at;
    this._handle = this._scheduler.setTimeout(() => this._fire(), at - now);
  }

  stop(): void {
    if (this._handle !== undefined) this._scheduler.clearTimeout(this._handle);
    this._handle = undefined;
  }

  private _fire(): void {
    this._handle = undefined;
    try {
      this._stage.expire();
      this._after?.();
    } catch (e) {
      this._onError(e);
    }
    this.kick();
  }
}
