import type { IncomingMessage, ServerResponse } from 'node:http';
import { displayUrl } from '../../internal/display-url.js';
import type { Ledger } from '../ledger.js';
import { renderPage, SUMMARY_PATH } from './page.js';
import type { InspectorSummary } from './summary.js';
import { buildSummary } from './summary.js';

/**
 * The local inspector: `GET /` (the page) and `GET /inspector/summary.json` (its data), served
 * by the sidecar beside the OTLP receiver. Read-only; it answers only GET and HEAD.
 */
export interface InspectorOptions {
  ledger: Ledger;
  mode: 'local' | 'fenra';
  /** The sink file, or Fenra's endpoint. */
  destination: string;
  /** What to tell apps, e.g. `http://127.0.0.1:4318`. */
  otlpEndpoint: string;
  /** Counts of spans/transactions not billed, by reason (e.g. from the sidecar's metrics). */
  dropped?: () => Record<string, number>;
  now?: () => number;
}

export const INSPECTOR_PATHS = ['/', '/index.html', SUMMARY_PATH] as const;

export type InspectorHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

export function inspectorSummary(o: InspectorOptions): InspectorSummary {
  return buildSummary({
    mode: o.mode,
    // A URL is shown without credentials (the sink file is shown as it is).
    destination: /^[a-z][a-z0-9+.-]*:\/\//i.test(o.destination) ? displayUrl(o.destination) : o.destination,
    otlpEndpoint: o.otlpEndpoint,
    snapshot: o.ledger.snapshot(),
    dropped: o.dropped?.() ?? {},
    nowMs: (o.now ?? Date.now)(),
  });
}

/** Returns a handler that answers the inspector's requests and returns false for any other. */
export function createInspector(o: InspectorOptions): InspectorHandler {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const method = req.method ?? 'GET';
    if (!(INSPECTOR_PATHS as readonly (string | undefined)[]).includes(path)) return false;
    if (method !== 'GET' && method !== 'HEAD') {
      req.resume();
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
      res.end('method not allowed\n');
      return true;
    }
    const summary = inspectorSummary(o);
    const [body, type] =
      path === SUMMARY_PATH
        ? [JSON.stringify(summary), 'application/json; charset=utf-8']
        : [renderPage(summary), 'text/html; charset=utf-8'];
    res.writeHead(200, {
      'content-type': type,
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
      // Everything is inline; nothing may load from elsewhere.
      'content-security-policy':
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:",
      'x-content-type-options': 'nosniff',
    });
    res.end(method === 'HEAD' ? undefined : body);
    return true;
  };
}

/** Registers the inspector's paths on a route table (the sidecar's `RouteServer`). */
export function routeInspector(
  server: {
    route(method: string, path: string, h: (req: IncomingMessage, res: ServerResponse) => void): unknown;
  },
  handler: InspectorHandler,
): void {
  for (const path of INSPECTOR_PATHS) {
    for (const method of ['GET', 'HEAD']) {
      server.route(method, path, (req, res) => {
        handler(req, res);
      });
    }
  }
}
