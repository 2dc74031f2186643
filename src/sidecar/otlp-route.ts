import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { diag } from '@opentelemetry/api';
import protobuf from 'protobufjs/minimal.js';
import { spansFromOtlpJson } from '../span/from-otlp-json.js';
import { decodeTraceRequest, encodeTraceResponse } from '../span/otlp-proto.js';
import type { SpanView } from '../span/span-view.js';
import type { BillingPath } from './billing.js';
import type { Forwarder } from './forwarder.js';
import { send } from './http-server.js';
import type { Metrics } from './metrics.js';
import type { BodyLimits } from './read-body.js';
import { BodyError, readBody } from './read-body.js';

/**
 * `POST /v1/traces`: OTLP/HTTP with protobuf or JSON bodies, gzip or not. Answers with an
 * `ExportTraceServiceResponse` in the request's encoding (with `partial_success` when some
 * spans could not be read), a `google.rpc.Status` on errors, and 429/503 + `Retry-After` when
 * the spool or the queue is full, so the sender keeps the data and retries.
 */
export interface OtlpRouteOptions extends BodyLimits {
  /** When set, requests must carry `Authorization: Bearer <token>`. */
  bearerToken?: string | undefined;
  retryAfterSeconds: number;
  billing: BillingPath;
  metrics: Metrics;
  forwarder?: Forwarder | undefined;
  /** False once shutdown started: new requests get 503. */
  accepting: () => boolean;
}

type Encoding = 'protobuf' | 'json';

const log = diag.createComponentLogger({ namespace: '@fenra/otel/sidecar-otlp' });

function encodingOf(contentType: string | undefined): Encoding | undefined {
  const t = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (t === 'application/x-protobuf' || t === 'application/protobuf') return 'protobuf';
  if (t === 'application/json') return 'json';
  return undefined;
}

/** `google.rpc.Status` (code = 1, message = 2), encoded with protobufjs's writer. */
function statusProto(code: number, message: string): Uint8Array {
  return protobuf.Writer.create().uint32(8).int32(code).uint32(18).string(message).finish();
}

/** gRPC codes used in the OTLP/HTTP error body. */
const GRPC = { INVALID_ARGUMENT: 3, UNAUTHENTICATED: 16, UNAVAILABLE: 14, RESOURCE_EXHAUSTED: 8 } as const;

function sendError(
  res: ServerResponse,
  enc: Encoding,
  status: number,
  grpc: number,
  message: string,
  headers: Record<string, string> = {},
): void {
  if (enc === 'protobuf') send(res, status, statusProto(grpc, message), 'application/x-protobuf', headers);
  else send(res, status, JSON.stringify({ code: grpc, message }), 'application/json', headers);
}

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/**
 * Checks `Authorization: Bearer <token>` (the scheme in any case, RFC 7235) against the token's
 * digest: equal-length digests compared in constant time, so neither the token's length nor
 * its prefix shows in the timing.
 */
export function bearerChecker(token: string): (authorization: string | undefined) => boolean {
  const expected = sha256(token);
  return (authorization) => {
    const m = /^bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? '');
    const same = timingSafeEqual(sha256(m ? m[1]! : ''), expected);
    return m !== null && same;
  };
}

/**
 * protobufjs refuses messages nested deeper than `Reader.recursionLimit` (100 by default), which
 * failed a whole request over one deeply nested attribute where OTLP/JSON only cuts the value.
 * Room for attribute values nested past the depth both decoders cut at (64: request → resource
 * spans → scope spans → span → key/value, then three messages per kvlist level), still bounded.
 * Only the sidecar raises it (a process-wide setting of protobufjs).
 */
export const PROTOBUF_RECURSION_LIMIT = 256;

export function otlpTracesHandler(o: OtlpRouteOptions) {
  if (protobuf.Reader.recursionLimit < PROTOBUF_RECURSION_LIMIT)
    protobuf.Reader.recursionLimit = PROTOBUF_RECURSION_LIMIT;
  const m = o.metrics;
  m.define('fenra_otel_requests_total', 'counter', 'OTLP requests by encoding and HTTP status');
  m.define('fenra_otel_spans_received_total', 'counter', 'Spans decoded from OTLP requests');
  m.define('fenra_otel_spans_rejected_total', 'counter', 'Spans reported back as rejected (partial_success)');
  m.define('fenra_otel_request_bytes_total', 'counter', 'Request body bytes as received');

  const authorized = o.bearerToken !== undefined ? bearerChecker(o.bearerToken) : undefined;
  const retryAfter = String(o.retryAfterSeconds);
  /** Why requests are being refused (429/503), logged once when it starts and once when it ends. */
  let refusing: string | undefined;
  const pressure = (why: string | undefined): void => {
    if (why === refusing) return;
    if (why !== undefined) log.warn(`refusing requests (429/503 + Retry-After): ${why}`);
    else log.info(`accepting requests again (was: ${refusing})`);
    refusing = why;
  };

  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const enc = encodingOf(req.headers['content-type']);
    const count = (status: number): void =>
      m.add('fenra_otel_requests_total', 1, { encoding: enc ?? 'other', status: String(status) });
    const fail = (status: number, grpc: number, message: string, headers?: Record<string, string>): void => {
      count(status);
      req.resume();
      sendError(res, enc ?? 'json', status, grpc, message, headers);
    };
    if (authorized !== undefined) {
      if (!authorized(req.headers.authorization)) {
        fail(401, GRPC.UNAUTHENTICATED, 'missing or wrong bearer token', { 'www-authenticate': 'Bearer' });
        return;
      }
    }
    if (!enc) {
      fail(
        415,
        GRPC.INVALID_ARGUMENT,
        `unsupported Content-Type '${req.headers['content-type'] ?? ''}': use application/x-protobuf or application/json`,
      );
      return;
    }
    if (!o.accepting()) {
      fail(503, GRPC.UNAVAILABLE, 'shutting down', { 'retry-after': retryAfter, connection: 'close' });
      return;
    }
    let raw: Buffer;
    let body: Buffer;
    let held: number;
    try {
      ({ raw, body, held } = await readBody(req, o));
    } catch (e) {
      if (e instanceof BodyError) {
        if (e.status === 429) {
          // OTLP: retryable, after Retry-After. The rest of the body is read and discarded.
          pressure('too many request bytes in flight (--max-inflight-mb)');
          fail(429, GRPC.RESOURCE_EXHAUSTED, e.message, { 'retry-after': retryAfter, connection: 'close' });
        } else
          fail(e.status, GRPC.INVALID_ARGUMENT, e.message, e.status === 413 ? { connection: 'close' } : {});
        return;
      }
      throw e;
    }
    try {
      await handle(req, res, enc, raw, body, count, fail);
    } finally {
      o.budget?.give(held);
    }
  };

  async function handle(
    req: IncomingMessage,
    res: ServerResponse,
    enc: Encoding,
    raw: Buffer,
    body: Buffer,
    count: (status: number) => void,
    fail: (status: number, grpc: number, message: string, headers?: Record<string, string>) => void,
  ): Promise<void> {
    m.add('fenra_otel_request_bytes_total', raw.length, { encoding: enc });

    let spans: SpanView[];
    let errors: readonly string[];
    try {
      // Only the attributes billing reads are kept: no content is held, less work per span.
      if (enc === 'protobuf') ({ spans, errors } = decodeTraceRequest(body, o.billing.keep));
      else {
        let parsed: unknown;
        try {
          parsed = JSON.parse(body.toString('utf8'));
        } catch (e) {
          fail(400, GRPC.INVALID_ARGUMENT, `body is not valid JSON: ${(e as Error).message}`);
          return;
        }
        if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
          fail(400, GRPC.INVALID_ARGUMENT, 'body is not an ExportTraceServiceRequest object');
          return;
        }
        ({ spans, errors } = spansFromOtlpJson(parsed, o.billing.keep));
      }
    } catch (e) {
      fail(400, GRPC.INVALID_ARGUMENT, `cannot decode the ${enc} body: ${(e as Error).message}`);
      return;
    }
    if (spans.length === 0 && errors.length > 0) {
      // Nothing in the request could be read: bad input, which the sender must not retry.
      fail(400, GRPC.INVALID_ARGUMENT, errors.slice(0, 5).join('; ').slice(0, 1000));
      return;
    }
    m.add('fenra_otel_spans_received_total', spans.length, { encoding: enc });

    const outcome = await o.billing.ingest(spans);
    if (outcome.status === 'full') {
      // The spool (or the queue in front of Fenra) is full: the sender keeps the data and retries.
      const status = outcome.why === 'spool' ? 503 : 429;
      pressure(outcome.why === 'spool' ? 'the spool is full' : 'the queue to Fenra is full');
      fail(
        status,
        outcome.why === 'spool' ? GRPC.UNAVAILABLE : GRPC.RESOURCE_EXHAUSTED,
        `the ${outcome.why} is full, retry later`,
        { 'retry-after': retryAfter },
      );
      return;
    }
    if (refusing !== undefined) pressure(undefined);
    o.forwarder?.forward(raw, req.headers['content-type']!, req.headers['content-encoding']);

    const partial =
      errors.length > 0
        ? { rejectedSpans: errors.length, errorMessage: errors.slice(0, 5).join('; ').slice(0, 1000) }
        : undefined;
    if (partial) {
      m.add('fenra_otel_spans_rejected_total', partial.rejectedSpans);
      log.warn(`partial success: ${partial.rejectedSpans} span(s) rejected: ${partial.errorMessage}`);
    }
    count(200);
    if (enc === 'protobuf') send(res, 200, encodeTraceResponse(partial), 'application/x-protobuf');
    else {
      const json = partial
        ? {
            partialSuccess: {
              rejectedSpans: String(partial.rejectedSpans),
              errorMessage: partial.errorMessage,
            },
          }
        : {};
      send(res, 200, JSON.stringify(json), 'application/json');
    }
  }
}
