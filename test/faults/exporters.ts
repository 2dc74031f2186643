import type { Payload } from './traffic.js';

/**
 * OTLP exporters as the sidecar sees them: each request is sent until it is answered 200,
 * waiting `Retry-After` (scaled) after a 429/503 and a short while after a connection error,
 * as the OTLP/HTTP exporters do. What was answered 200 is acknowledged: its transactions must
 * reach Fenra.
 */
export class Exporters {
  /** Keys (traceId/spanId) of the transactions in requests answered 200. */
  readonly acked = new Set<string>();
  /** Keys of requests sent again after a failed attempt (a copy of those is explained). */
  readonly retried = new Set<string>();
  requests = 0;
  /** Answers other than 200, by status (0: a connection error). */
  readonly refusals = new Map<number, number>();
  private _stopped = false;
  private readonly _url: () => string;
  private readonly _retryScale: number;
  private readonly _workers: Promise<void>[] = [];

  /** `url`: the sidecar's base URL (it may change across restarts); `retryScale`: Retry-After × this. */
  constructor(url: () => string, retryScale = 1) {
    this._url = url;
    this._retryScale = retryScale;
  }

  /** Sends one request until it is answered 200 (or the exporters are stopped). */
  async send(p: Payload, body: Uint8Array = p.proto): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) for (const k of p.keys) this.retried.add(k);
      let wait = 50;
      try {
        this.requests++;
        const r = await fetch(`${this._url()}/v1/traces`, {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/x-protobuf' },
        });
        await r.arrayBuffer();
        if (r.status === 200) {
          for (const k of p.keys) this.acked.add(k);
          return true;
        }
        this.refusals.set(r.status, (this.refusals.get(r.status) ?? 0) + 1);
        if (r.status === 400 || r.status === 413) return false;
        const after = Number(r.headers.get('retry-after'));
        if (Number.isFinite(after) && after > 0) wait = after * 1000 * this._retryScale;
      } catch {
        this.refusals.set(0, (this.refusals.get(0) ?? 0) + 1);
      }
      if (this._stopped && attempt > 200) return false;
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  /** Starts `workers` loops, each sending `next()` then pausing `intervalMs`, until {@link stop}. */
  start(workers: number, next: () => Payload, intervalMs: number): void {
    for (let i = 0; i < workers; i++) {
      this._workers.push(
        (async () => {
          while (!this._stopped) {
            await this.send(next());
            if (intervalMs > 0) await new Promise((r) => setTimeout(r, intervalMs));
          }
        })(),
      );
    }
  }

  /** Stops starting requests; resolves once those under way were answered 200. */
  async stop(): Promise<void> {
    this._stopped = true;
    await Promise.all(this._workers);
  }

  refusalText(): string {
    return [...this.refusals]
      .sort(([a], [b]) => a - b)
      .map(([s, n]) => `${n}×${s === 0 ? 'conn error' : s}`)
      .join(', ');
  }
}
