import type { IncomingMessage, ServerResponse } from 'node:http';
import protobuf from 'protobufjs/minimal.js';
import { encodeTraceResponse } from '../span/otlp-proto.js';
import { bearerChecker } from './bearer-token.js';
import { dropBody, maxDroppedBytes, send } from './http-server.js';
import type { Metrics } from './metrics.js';
import type { BodyLimits } from './read-body.js';
import { BodyError, readBody } from './read-body.js';
import type { Busy, Encoding, TraceReceiver } from './trace-receiver.js';

/**
 * `POST /v1/traces`: OTLP/HTTP with protobuf or JSON bodies, gzip or not. Answers with an
 * `ExportTraceServiceResponse` in the request's encoding (with `partial_success` when some
 * spans could not be read), a `google.rpc.Status` on errors, and 429/503 + `Retry-After` when
 * the receiver cannot keep what it would acknowledge (the spool or the queue full, the spool's
 * disk refusing writes, shutting down), decided before the body is read, so the sender keeps
 * the data and retries and a refusal costs next to nothing.
 */
export interface OtlpRouteOptions extends BodyLimits {
  /** When set, requests must carry `Authorization: Bearer <token>`. */
  bearerToken?: string | undefined;
  retryAfterSeconds: number;
  receiver: TraceReceiver;
  metrics: Metrics;
}

/** HTTP status and gRPC code of a refusal: 429 for throttling, 503 while unavailable. */
export function busyStatus(b: Busy): { status: 429 | 503; grpc: number } {
  return b.why === 'queue'
    ? { status: 429, grpc: GRPC.RESOURCE_EXHAUSTED }
    : { status: 503, grpc: GRPC.UNAVAILABLE };
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
export const GRPC = {
  INVALID_ARGUMENT: 3,
  UNAUTHENTICATED: 16,
  UNAVAILABLE: 14,
  RESOURCE_EXHAUSTED: 8,
} as const;

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
  const receiver = o.receiver;
  const authorized = o.bearerToken !== undefined ? bearerChecker(o.bearerToken) : undefined;
  const retryAfter = String(o.retryAfterSeconds);
  const dropLimit = maxDroppedBytes(o.maxBodyBytes);

  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const enc = encodingOf(req.headers['content-type']);
    const count = (status: number): void =>
      m.add('fenra.otel.receiver.requests', 1, {
        transport: 'http',
        encoding: enc ?? 'other',
        status: String(status),
      });
    const fail = (status: number, grpc: number, message: string, headers?: Record<string, string>): void => {
      count(status);
      dropBody(req, dropLimit);
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
    // Refused before the body is read: the sender keeps the data and retries after Retry-After.
    const busy = receiver.admit();
    if (busy !== undefined) {
      const { status, grpc } = busyStatus(busy);
      const close: Record<string, string> = busy.why === 'shutdown' ? { connection: 'close' } : {};
      fail(status, grpc, busy.message, { 'retry-after': retryAfter, ...close });
      return;
    }
    let raw: Buffer;
    let body: Buffer;
    let held: number;
    try {
      ({ raw, body, held } = await readBody(req, o));
    } catch (e) {
      if (e instanceof BodyError) {
        // The rest of the body is read and dropped (up to a bound): the sender, maybe still
        // writing it, reads the answer instead of a reset (see dropBody).
        if (e.status === 429) {
          // OTLP: retryable, after Retry-After.
          receiver.pressure('too many request bytes in flight (--max-inflight-mb)');
          fail(429, GRPC.RESOURCE_EXHAUSTED, e.message, { 'retry-after': retryAfter });
        } else fail(e.status, GRPC.INVALID_ARGUMENT, e.message);
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
      if (outcome.kind === 'too_large') {
        fail(413, GRPC.INVALID_ARGUMENT, outcome.message);
        return;
      }
      if (outcome.kind === 'busy') {
        // Only known once decoded (the spool's reserve is for requests completing held traces).
        const { status, grpc } = busyStatus(outcome);
        fail(status, grpc, outcome.message, { 'retry-after': retryAfter });
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
