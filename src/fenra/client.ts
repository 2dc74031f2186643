import { context } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import type * as Undici from 'undici';
import type { Dispatcher } from 'undici';
import { jsonArrayBytes } from '../internal/json-bytes.js';
import { requestSignal } from '../internal/request-signal.js';
import type { DeliveryConfig } from '../pipeline/delivery-config.js';
import type { SendOptions, SendResult, TransactionSender } from '../pipeline/sender.js';
import type { PricedTransaction } from '../stage/priced-transaction.js';
import { VERSION } from '../version.js';
import { renderTransaction } from './render-transaction.js';
import { classifyError, classifyResponse } from './response.js';

/** Most response bytes read; the rest is discarded (the status is what matters). */
export const MAX_RESPONSE_BYTES = 1024 * 1024;

export const USER_AGENT = `@fenra/otel/${VERSION}`;

export interface FenraClientOptions {
  endpoint: string;
  apiKey: string;
  /** Most connections to the endpoint. */
  connections: number;
  /** A dispatcher to use instead of our own keep-alive agent (not closed by `close()`). */
  dispatcher?: Dispatcher;
  /** Clock for `Retry-After` dates. */
  now?: () => number;
}

/**
 * undici, loaded at the first request: it is ~100 modules, and an application (or the register
 * entry) should not pay for them at start-up, nor at all when it never bills anything.
 */
let undici: Promise<typeof Undici> | undefined;
const loadUndici = (): Promise<typeof Undici> => (undici ??= import('undici'));

/**
 * The Fenra sender of the delivery pipeline: renders each batch into the wire body and `POST`s
 * it to the usage-transactions endpoint over undici, then classifies the answer.
 */
export class FenraClient implements TransactionSender {
  private readonly _endpoint: string;
  private readonly _headers: Record<string, string>;
  private readonly _connections: number;
  /** Given by the caller, or made at the first request (and then ours to close). */
  private _dispatcher: Dispatcher | undefined;
  private readonly _ownsDispatcher: boolean;
  private readonly _now: () => number;
  private _closed: Promise<void> | undefined;

  constructor(options: FenraClientOptions) {
    this._endpoint = options.endpoint;
    this._headers = {
      'x-api-key': options.apiKey,
      'content-type': 'application/json',
      'user-agent': USER_AGENT,
    };
    this._now = options.now ?? Date.now;
    this._connections = options.connections;
    this._ownsDispatcher = options.dispatcher === undefined;
    this._dispatcher = options.dispatcher;
  }

  private async _agent(): Promise<Dispatcher> {
    if (this._dispatcher !== undefined) return this._dispatcher;
    const { Agent } = await loadUndici();
    if (this._dispatcher !== undefined) return this._dispatcher;
    this._dispatcher = new Agent({
      connections: this._connections,
      keepAliveTimeout: 10_000,
      keepAliveMaxTimeout: 60_000,
      // Our own AbortSignal bounds each request; these only stop undici's 300 s defaults.
      headersTimeout: 120_000,
      bodyTimeout: 120_000,
    });
    // Closed while undici loaded: the agent closes too (it would hold connections otherwise).
    if (this._closed !== undefined) void this._dispatcher.close().catch(() => undefined);
    return this._dispatcher;
  }

  send(items: readonly PricedTransaction[], options: SendOptions): Promise<SendResult> {
    // Our own requests must never become spans (instrumentation-undici / -http).
    return context.with(suppressTracing(context.active()), () => this._send(items, options));
  }

  private async _send(items: readonly PricedTransaction[], options: SendOptions): Promise<SendResult> {
    const body = wireBody(items);
    const bytes = body.length;
    if (this._closed !== undefined) {
      return { outcome: { kind: 'aborted', message: 'client closed' }, bytes: 0 };
    }
    const bound = requestSignal(options.timeoutMs, options.signal);
    const signal = bound.signal;
    try {
      const [{ request }, dispatcher] = await Promise.all([loadUndici(), this._agent()]);
      const res = await request(this._endpoint, {
        method: 'POST',
        headers: this._headers,
        body,
        signal,
        dispatcher,
      });
      const text = await readBounded(res.body, MAX_RESPONSE_BYTES);
      const headers = res.headers;
      const outcome = classifyResponse({
        status: res.statusCode,
        header: (name) => {
          const v = headers[name.toLowerCase()];
          return Array.isArray(v) ? v[0] : v;
        },
        body: text,
        count: items.length,
        nowMs: this._now(),
      });
      return { outcome, bytes };
    } catch (err) {
      return {
        outcome: classifyError(err, {
          timedOut: bound.timedOut,
          aborted: options.signal?.aborted === true,
          timeoutMs: options.timeoutMs,
        }),
        bytes,
      };
    } finally {
      bound.dispose();
    }
  }

  close(): Promise<void> {
    this._closed ??=
      this._ownsDispatcher && this._dispatcher !== undefined
        ? this._dispatcher.close().catch(() => undefined)
        : Promise.resolve();
    return this._closed;
  }
}

/**
 * The request body of a batch, encoded once: undici would copy a string into a Buffer itself,
 * and the size is read off the Buffer instead of scanning the text again. The same bytes as
 * `JSON.stringify({ transactions })` without one large string (see `jsonArrayBytes`). In a
 * function of its own so that the rendered objects are garbage before the request is sent:
 * kept across its await, they outlived the young generation of a busy sidecar (13 % of what
 * survived its scavenges).
 */
function wireBody(items: readonly PricedTransaction[]): Buffer {
  return jsonArrayBytes(items.map(renderTransaction), '{"transactions":', '}');
}

/** Reads at most `limit` bytes of a body as UTF-8 and discards the rest, so the connection is freed. */
async function readBounded(body: Dispatcher.ResponseData['body'], limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    if (size + buf.length > limit) {
      chunks.push(buf.subarray(0, limit - size));
      size = limit;
      body.destroy();
      break;
    }
    chunks.push(buf);
    size += buf.length;
  }
  return Buffer.concat(chunks, size).toString('utf8');
}

/**
 * The pipeline's sender for a delivery configuration: Fenra's client, or none when delivery is
 * disabled or there is no key (the pipeline then counts every transaction as not delivered).
 */
export function fenraSender(
  config: DeliveryConfig,
  deps: { dispatcher?: Dispatcher | undefined; now?: (() => number) | undefined } = {},
): FenraClient | undefined {
  if (config.disabled || config.apiKey === undefined) return undefined;
  return new FenraClient({
    endpoint: config.endpoint,
    apiKey: config.apiKey,
    connections: config.concurrencyLimit,
    ...(deps.dispatcher === undefined ? {} : { dispatcher: deps.dispatcher }),
    ...(deps.now === undefined ? {} : { now: deps.now }),
  });
}
