import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { Socket } from 'node:net';
import { diag } from '@opentelemetry/api';
import type { HostVerdict } from './host-guard.js';

/**
 * The sidecar's HTTP server: node:http with an exact-match route table, so other pages
 * (an inspector, a local sink's API) are one `route()` call away. Handlers may throw or
 * reject: the server answers 500 and stays up.
 */
export type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

const log = diag.createComponentLogger({ namespace: '@fenra/otel/sidecar-http' });

export function send(
  res: ServerResponse,
  status: number,
  body: string | Uint8Array,
  contentType = 'text/plain; charset=utf-8',
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

/**
 * Reads and drops the rest of a refused request's body. A sender still writing it then reads the
 * answer (a 413 it must not retry, a 429 to retry later) instead of a reset it would retry as a
 * network error, and the connection can serve its next request. Past `maxBytes` more (or the
 * server's request timeout) the connection is closed.
 */
export function dropBody(req: IncomingMessage, maxBytes: number): void {
  if (req.complete) {
    req.resume(); // all of it arrived: drop what is buffered
    return;
  }
  let dropped = 0;
  const onData = (chunk: Buffer): void => {
    dropped += chunk.length;
    if (dropped > maxBytes) {
      req.off('data', onData);
      req.socket.destroy();
    }
  };
  req.on('data', onData);
  req.resume();
}

/**
 * What of a refused request's body is read and dropped before its connection is closed: four
 * bodies of the largest accepted (a sender a little over the limit still reads its answer).
 */
export function maxDroppedBytes(maxBodyBytes: number): number {
  return 4 * maxBodyBytes;
}

/** Checks a request's Host and Origin headers (see host-guard.ts). */
export type HostCheck = (headers: IncomingMessage['headers']) => HostVerdict;

export interface RouteServerOptions {
  /**
   * Open connections at once. At the bound, a new connection takes the place of an idle one (no
   * request under way): one that never finished a request (a client still sending headers, a
   * socket left open) before a served one (a keep-alive), the one idle longest first. Within the
   * last 50 ms a new connection may be sending its first request: then a keep-alive idle a second
   * goes first, and one served a moment ago (an exporter between two batches) keeps its place
   * while a silent new one is left, so a flood that reconnects as fast as it is closed cannot push
   * exporters out. Or else the new one takes the place of a request under way for longer than
   * `stuckRequestMillis` (a body trickling in). Only when every connection is busy with a recent
   * request is the new one closed on arrival.
   */
  maxConnections?: number;
  /**
   * What of a request refused before its body was read (403, 404, 405, 401, 500) is read and
   * dropped before its connection is closed (see {@link dropBody}). Default
   * {@link maxDroppedBytes} of 20 MiB bodies.
   */
  maxDroppedBytes?: number;
  /** A request under way this long may lose its connection to a new one at the bound, ms (default 2000). */
  stuckRequestMillis?: number;
  /** Told when a connection is closed to keep the bound (`evicted`: an old one, `refused`: the new one). */
  onConnectionClosed?: (why: 'evicted' | 'refused') => void;
  /** A request's headers must arrive within this time, ms (default 10000) → 408. */
  headersTimeoutMillis?: number;
  /** A whole request (headers and body) must arrive within this time, ms (default 30000) → 408. */
  requestTimeoutMillis?: number;
  /** How often those timeouts are checked, ms (default 1000; Node's own default is 30000). */
  timeoutCheckMillis?: number;
  /** The clock the connection bound reads, ms (tests); `Date.now` by default. */
  now?: () => number;
}

/** What goes back on a connection the HTTP parser gave up on (Node's own answers, plus a count). */
const CLIENT_ERRORS: Record<string, string> = {
  ERR_HTTP_REQUEST_TIMEOUT: '408 Request Timeout',
  HPE_HEADER_OVERFLOW: '431 Request Header Fields Too Large',
};

/** A new connection this young may be sending its first request: a served one idle long gives way first, ms. */
const FRESH_MS = 50;
/** A served connection idle this long gives way before a fresh unserved one, ms. */
const SERVED_IDLE_MS = 1_000;

/** A client connection: requests under way and served on it, and since when it is in its current state. */
interface Connection {
  active: number;
  served: number;
  since: number;
}

export class RouteServer {
  private readonly _routes = new Map<string, Map<string, Handler>>();
  private readonly _server: Server;
  private readonly _connections = new Map<Socket, Connection>();
  private readonly _o: RouteServerOptions;
  /** See {@link RouteServerOptions.maxDroppedBytes}. */
  private readonly _dropLimit: number;
  /** The latest response on each connection, so a client error never cuts into one under way. */
  private readonly _responses = new WeakMap<object, ServerResponse>();
  private _guard: ((req: IncomingMessage, path: string) => boolean) | undefined;
  private _makeHostCheck: ((port: number) => HostCheck) | undefined;
  private _hostCheck: HostCheck | undefined;
  private _onRefused: ((verdict: Exclude<HostVerdict, { ok: true }>) => void) | undefined;

  constructor(o: RouteServerOptions = {}) {
    this._o = o;
    this._dropLimit = o.maxDroppedBytes ?? maxDroppedBytes(20 * 1024 * 1024);
    const requestTimeout = o.requestTimeoutMillis ?? 30_000;
    const headersTimeout = Math.min(o.headersTimeoutMillis ?? 10_000, requestTimeout);
    // Slow-client defence: headers and the whole request must arrive in time, checked often
    // enough for the bounds to hold (Node checks every 30 s by default).
    this._server = createServer(
      {
        requestTimeout,
        headersTimeout,
        connectionsCheckingInterval: o.timeoutCheckMillis ?? Math.min(1_000, headersTimeout),
        keepAliveTimeout: 5_000,
      },
      (req, res) => this._dispatch(req, res),
    );
    if (o.maxConnections !== undefined) {
      const max = o.maxConnections;
      this._server.on('connection', (socket: Socket) => this._admit(socket, max));
    }
    this._server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
      const r = this._responses.get(socket);
      // Mid-response (headers sent, body not ended): the connection can only be cut.
      if (socket.writable && !(r !== undefined && r.headersSent && !r.writableEnded)) {
        const status = CLIENT_ERRORS[err.code ?? ''] ?? '400 Bad Request';
        socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
      } else socket.destroy();
    });
  }

  /** Requests the guard refuses get 401 (`path` without the query string). */
  guard(check: (req: IncomingMessage, path: string) => boolean): this {
    this._guard = check;
    return this;
  }

  /**
   * Every request (any route, known or not) must pass `make(port)`'s check of its Host and
   * Origin headers (built once listening, with the port picked), else 403.
   */
  hosts(
    make: (port: number) => HostCheck,
    onRefused?: (verdict: Exclude<HostVerdict, { ok: true }>) => void,
  ): this {
    this._makeHostCheck = make;
    this._onRefused = onRefused;
    return this;
  }

  /** Adds a route; `path` matches exactly (without the query string). */
  route(method: string, path: string, handler: Handler): this {
    let byMethod = this._routes.get(path);
    if (!byMethod) this._routes.set(path, (byMethod = new Map()));
    byMethod.set(method.toUpperCase(), handler);
    return this;
  }

  get server(): Server {
    return this._server;
  }

  listen(port: number, host: string): Promise<{ port: number; host: string }> {
    return new Promise((resolve, reject) => {
      this._server.once('error', reject);
      this._server.listen(port, host, () => {
        this._server.off('error', reject);
        const a = this._server.address();
        const bound = typeof a === 'object' && a ? { port: a.port, host: a.address } : { port, host };
        // Before any connection is handled: the check knows the port picked.
        this._hostCheck = this._makeHostCheck?.(bound.port);
        resolve(bound);
      });
    });
  }

  /** Stops accepting; waits for requests in flight up to the deadline, then cuts connections. */
  close(deadlineMillis: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => this._server.closeAllConnections(), deadlineMillis);
      this._server.close(() => {
        clearTimeout(t);
        resolve();
      });
      this._server.closeIdleConnections();
    });
  }

  /**
   * Fairness at the connection bound: idle and stuck connections give way to new ones, so a
   * flood of idle or slow sockets cannot lock exporters and probes out.
   */
  private _admit(socket: Socket, max: number): void {
    if (this._connections.size >= max) {
      const victim = this._victim(this._now());
      if (victim === undefined) {
        socket.destroy();
        this._o.onConnectionClosed?.('refused');
        return;
      }
      this._connections.delete(victim);
      victim.destroy();
      this._o.onConnectionClosed?.('evicted');
    }
    this._connections.set(socket, { active: 0, served: 0, since: this._now() });
    socket.once('close', () => this._connections.delete(socket));
  }

  private _now(): number {
    return this._o.now?.() ?? Date.now();
  }

  /** Which connection gives way: the lowest rank, the one idle (or busy) longest within it. */
  private _victim(now: number): Socket | undefined {
    let victim: Socket | undefined;
    let rank = Infinity;
    let since = Infinity;
    for (const [socket, c] of this._connections) {
      const r = this._rank(socket, c, now);
      if (r < rank || (r === rank && r !== Infinity && c.since < since))
        [victim, rank, since] = [socket, r, c.since];
    }
    return victim;
  }

  /**
   * How readily a connection gives way (lower first; Infinity: it keeps its place):
   * 0 never finished a request and idle 50 ms or more (a flood of idle or slow sockets);
   * 1 served, idle a second or more (a keep-alive between batches);
   * 2 just connected and silent (a flood that reconnects as fast as it is closed looks like this);
   * 3 served a moment ago (an exporter between two requests, a probe);
   * 4 just connected and sending (its first request is on its way);
   * 5 a request under way longer than `stuckRequestMillis` (a body trickling in).
   */
  private _rank(socket: Socket, c: Connection, now: number): number {
    const idle = now - c.since;
    if (c.active > 0) return idle >= (this._o.stuckRequestMillis ?? 2_000) ? 5 : Infinity;
    if (c.served > 0) return idle >= SERVED_IDLE_MS ? 1 : 3;
    if (idle >= FRESH_MS) return 0;
    return socket.bytesRead === 0 ? 2 : 4;
  }

  private _dispatch(req: IncomingMessage, res: ServerResponse): void {
    this._responses.set(req.socket, res);
    const c = this._connections.get(req.socket);
    if (c !== undefined) {
      c.active++;
      c.since = this._now();
      res.once('close', () => {
        c.active--;
        c.served++;
        c.since = this._now();
      });
    }
    const verdict = this._hostCheck?.(req.headers);
    if (verdict !== undefined && !verdict.ok) {
      dropBody(req, this._dropLimit);
      this._onRefused?.(verdict);
      send(res, 403, `forbidden: this ${verdict.why === 'host' ? 'Host' : 'Origin'} is not allowed\n`);
      return;
    }
    const path = (req.url ?? '/').split('?')[0]!;
    const byMethod = this._routes.get(path);
    if (!byMethod) {
      dropBody(req, this._dropLimit);
      send(res, 404, `no route for ${path}\n`);
      return;
    }
    if (this._guard !== undefined && !this._guard(req, path)) {
      dropBody(req, this._dropLimit);
      send(res, 401, 'missing or wrong bearer token\n', undefined, { 'www-authenticate': 'Bearer' });
      return;
    }
    const handler = byMethod.get(req.method ?? 'GET');
    if (!handler) {
      dropBody(req, this._dropLimit);
      send(res, 405, `method ${req.method} not allowed on ${path}\n`, undefined, {
        allow: [...byMethod.keys()].join(', '),
      });
      return;
    }
    const fail = (e: unknown): void => {
      log.error(`handler for ${req.method} ${path} failed: ${(e as Error)?.message ?? String(e)}`);
      dropBody(req, this._dropLimit);
      send(res, 500, 'internal error\n');
    };
    try {
      const r = handler(req, res);
      if (r) r.catch(fail);
    } catch (e) {
      fail(e);
    }
  }
}
