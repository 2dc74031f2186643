import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import { diag } from '@opentelemetry/api';

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

export class RouteServer {
  private readonly _routes = new Map<string, Map<string, Handler>>();
  private readonly _server: Server;

  constructor() {
    this._server = createServer((req, res) => this._dispatch(req, res));
    // Slow-body defence: a request must arrive completely within this time.
    this._server.requestTimeout = 30_000;
    this._server.headersTimeout = 10_000;
    this._server.keepAliveTimeout = 5_000;
    this._server.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
      else socket.destroy();
    });
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
        resolve(typeof a === 'object' && a ? { port: a.port, host: a.address } : { port, host });
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

  private _dispatch(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0]!;
    const byMethod = this._routes.get(path);
    if (!byMethod) {
      req.resume();
      send(res, 404, `no route for ${path}\n`);
      return;
    }
    const handler = byMethod.get(req.method ?? 'GET');
    if (!handler) {
      req.resume();
      send(res, 405, `method ${req.method} not allowed on ${path}\n`, undefined, {
        allow: [...byMethod.keys()].join(', '),
      });
      return;
    }
    const fail = (e: unknown): void => {
      log.error(`handler for ${req.method} ${path} failed: ${(e as Error)?.message ?? String(e)}`);
      req.resume();
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
