import { diag } from '@opentelemetry/api';
import { displayUrl, withoutUrlCredentials } from '../internal/display-url.js';
import { requestSignal } from '../internal/request-signal.js';
import type { Metrics } from './metrics.js';
import { parseRetryAfter } from '../fenra/response.js';

/**
 * Pass-through (`--forward URL`): sends each accepted request's body, byte for byte with its
 * Content-Type and Content-Encoding, to a downstream OTLP/HTTP endpoint, with the retry rules
 * of the OTLP/HTTP exporter (429/502/503/504 and network errors; up to 5 attempts, exponential
 * backoff with jitter, `Retry-After` honoured, one deadline per request). Bounded: when too many
 * bytes wait, new bodies are dropped and counted. Never blocks or fails the receiving request.
 */
export interface ForwarderOptions {
  url: string;
  headers?: Record<string, string>;
  timeoutMillis: number;
  maxPendingBytes: number;
  concurrency: number;
}

const RETRYABLE = new Set([429, 502, 503, 504]);
const log = diag.createComponentLogger({ namespace: '@fenra/otel/sidecar-forward' });

interface Job {
  body: Buffer;
  headers: Record<string, string>;
}

export class Forwarder {
  private readonly _o: ForwarderOptions;
  private readonly _m: Metrics;
  private readonly _queue: Job[] = [];
  private _pendingBytes = 0;
  private _running = 0;
  private readonly _active = new Set<Promise<void>>();
  private readonly _abort = new AbortController();

  constructor(options: ForwarderOptions, metrics: Metrics) {
    this._o = options;
    this._m = metrics;
    metrics.observe(() => [{ name: 'fenra.otel.forward.pending_bytes', value: this._pendingBytes }]);
  }

  forward(body: Buffer, contentType: string, contentEncoding: string | undefined): void {
    if (this._abort.signal.aborted) return;
    if (this._pendingBytes + body.length > this._o.maxPendingBytes) {
      this._m.add('fenra.otel.forward.requests', 1, { outcome: 'dropped_queue_full' });
      return;
    }
    const headers: Record<string, string> = { ...this._o.headers, 'content-type': contentType };
    if (contentEncoding) headers['content-encoding'] = contentEncoding;
    this._queue.push({ body, headers });
    this._pendingBytes += body.length;
    this._pump();
  }

  /** Waits for queued bodies up to the deadline, then aborts what is left. */
  async shutdown(deadlineMillis: number): Promise<void> {
    const end = Date.now() + deadlineMillis;
    while ((this._queue.length || this._active.size) && Date.now() < end) {
      await Promise.race([new Promise((r) => setTimeout(r, 20)), ...this._active]);
    }
    this._abort.abort();
    await Promise.allSettled([...this._active]);
  }

  private _pump(): void {
    while (this._queue.length && this._running < this._o.concurrency) {
      const job = this._queue.shift()!;
      this._running++;
      const p = this._send(job).finally(() => {
        this._running--;
        this._pendingBytes -= job.body.length;
        this._active.delete(p);
        this._pump();
      });
      this._active.add(p);
    }
  }

  private async _send(job: Job): Promise<void> {
    const deadline = Date.now() + this._o.timeoutMillis;
    let last = '';
    for (let attempt = 0; attempt < 5; attempt++) {
      let retryAfter: number | undefined;
      const bound = requestSignal(deadline - Date.now(), this._abort.signal);
      try {
        const res = await fetch(this._o.url, {
          method: 'POST',
          headers: job.headers,
          body: job.body,
          signal: bound.signal,
        });
        await res.arrayBuffer();
        if (res.ok) {
          this._m.add('fenra.otel.forward.requests', 1, { outcome: 'ok' });
          return;
        }
        last = `HTTP ${res.status}`;
        if (!RETRYABLE.has(res.status)) break;
        retryAfter = parseRetryAfter(res.headers.get('retry-after') ?? undefined, Date.now());
      } catch (e) {
        if (this._abort.signal.aborted) break;
        last = withoutUrlCredentials((e as Error).message);
      } finally {
        bound.dispose();
      }
      const backoff = Math.min(1000 * 1.5 ** attempt, 5000) * (0.8 + Math.random() * 0.4);
      const wait = Math.max(backoff, retryAfter ?? 0);
      if (Date.now() + wait >= deadline) break;
      await new Promise((r) => setTimeout(r, wait));
    }
    this._m.add('fenra.otel.forward.requests', 1, { outcome: 'failed' });
    log.warn(`pass-through to ${displayUrl(this._o.url)} failed: ${last}`);
  }
}
