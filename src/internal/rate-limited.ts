/**
 * Counts events and reports them at most once per interval: the first event is reported at
 * once, later ones are summed into the next report.
 */
export class RateLimitedReport {
  private readonly _intervalMs: number;
  private readonly _now: () => number;
  private readonly _emit: (count: number) => void;
  private _lastMs = -Infinity;
  private _unreported = 0;

  constructor(intervalMs: number, now: () => number, emit: (count: number) => void) {
    this._intervalMs = intervalMs;
    this._now = now;
    this._emit = emit;
  }

  note(count = 1): void {
    this._unreported += count;
    const now = this._now();
    if (now - this._lastMs >= this._intervalMs) {
      this._lastMs = now;
      this.flush();
    }
  }

  /** Reports what is still unreported (e.g. at shutdown). */
  flush(): void {
    if (this._unreported === 0) return;
    const n = this._unreported;
    this._unreported = 0;
    this._emit(n);
  }
}
