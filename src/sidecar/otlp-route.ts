import type { IncomingMessage, ServerResponse } from 'node:http';
import protobuf from 'protobufjs/minimal.js';
import { encodeTraceResponse } from '../span/otlp-proto.js';
import { bearerChecker } from './bearer-token.js';
import { send } from './http-server.js';
import type { Metrics } from './metrics.js';
import type { BodyLimits } from './read-body.js';
import { BodyError, readBody } from './read-body.js';
import type { Encoding, TraceReceiver } from './trace-receiver.js';

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
  receiver: TraceReceiver;
  metrics: Metrics;
  /** False once shutdown started: new requests get 503. */
  accepting: () => boolean;
}

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
  m.define(
    'fenra_otel_requests_total',
    'counter',
    'OTLP requests by transport, encoding and status (HTTP status or gRPC code)',
  );
  const receiver = o.receiver;
  const authorized = o.bearerToken !== undefined ? bearerChecker(o.bearerToken) : undefined;
  const retryAfter = String(o.retryAfterSeconds);

  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const enc = encodingOf(req.headers['content-type']);
    const count = (status: number): void =>
      m.add('fenra_otel_requests_total', 1, {
        transport: 'http',
        encoding: enc ?? 'other',
        status: String(status),
      });
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
          receiver.pressure('too many request bytes in flight (--max-inflight-mb)');
          fail(429, GRPC.RESOURCE_EXHAUSTED, e.message, { 'retry-after': retryAfter, connection: 'close' });
        } else
          fail(e.status, GRPC.INVALID_ARGUMENT, e.message, e.status === 413 ? { connection: 'close' } : {});
        return;
      }
      throw e;
    }
    try {
      const outcome = await receiver.receive(body, enc, {
        raw,
        contentType: req.headers['content-type']!,
        contentEncoding: req.headers['content-encoding'],
      });
      if (outcome.kind === 'invalid') {
        fail(400, GRPC.INVALID_ARGUMENT, outcome.message);
        return;
      }
      if (outcome.kind === 'busy') {
        // The spool (or the queue in front of Fenra) is full: the sender keeps the data and retries.
        const spool = outcome.why === 'spool';
        fail(spool ? 503 : 429, spool ? GRPC.UNAVAILABLE : GRPC.RESOURCE_EXHAUSTED, outcome.message, {
          'retry-after': retryAfter,
        });
        return;
      }
      count(200);
      const partial = outcome.partial;
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
    } finally {
      o.budget?.give(held);
    }
  };
}
