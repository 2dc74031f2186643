import { diag } from '@opentelemetry/api';
import { spansFromOtlpJson } from '../span/from-otlp-json.js';
import { decodeTraceRequest } from '../span/otlp-proto.js';
import type { SpanView } from '../span/span-view.js';
import type { BillingPath } from './billing.js';
import type { Forwarder } from './forwarder.js';
import type { Metrics } from './metrics.js';
import type { RequestLimits } from '../span/request-limits.js';
import { checkJson } from '../span/request-limits.js';

/** How an OTLP request body was encoded. */
export type Encoding = 'protobuf' | 'json';

/** What became of one OTLP export request, whatever the transport (HTTP, gRPC). */
export type ReceiveOutcome =
  /** Taken (stored for billing where a spool is used): acknowledge, with the spans refused, if any. */
  | { kind: 'ok'; partial?: { rejectedSpans: number; errorMessage: string } }
  /** Bad input: the sender must not retry it. */
  | { kind: 'invalid'; message: string }
  /** Over the request limits (spans, attributes): refused undecoded; the sender must split it. */
  | { kind: 'too_large'; message: string }
  /** Not now (see {@link Busy}): the sender keeps it and retries later. */
  | Busy;

/**
 * Why a request is refused for now; the sender keeps the data and retries after `Retry-After`.
 * `queue` (the queue to Fenra is full) is throttling (HTTP 429, gRPC RESOURCE_EXHAUSTED); the
 * others (`spool`: full; `spool_error`: its disk refuses writes; `shutdown`) say the receiver
 * is unavailable (HTTP 503, gRPC UNAVAILABLE).
 */
export interface Busy {
  kind: 'busy';
  why: 'spool' | 'spool_error' | 'queue' | 'shutdown';
  message: string;
}

export interface TraceReceiverOptions {
  billing: BillingPath;
  metrics: Metrics;
  forwarder?: Forwarder | undefined;
  /** False once shutdown started: requests are refused. Default: always accepting. */
  accepting?: () => boolean;
  /** What one request may hold; over it, it is refused before it is decoded. Default: no limit. */
  limits?: RequestLimits | undefined;
}

/** The body as received, for the pass-through (forwarded as it came: encoding and compression). */
export interface RawRequest {
  raw: Buffer;
  contentType: string;
  contentEncoding: string | undefined;
}

const log = diag.createComponentLogger({ namespace: '@fenra/otel/sidecar-otlp' });

const PRESSURE: Record<Exclude<Busy['why'], 'shutdown'>, string> = {
  spool: 'the spool is full',
  spool_error: 'the spool cannot be written',
  queue: 'the queue to Fenra is full',
};

/**
 * The transport-neutral half of the OTLP receivers: decode a request body (only the attributes
 * billing reads are kept), hand its spans to billing, say what became of it, count it, and log
 * once when requests start and stop being refused. `POST /v1/traces` and the gRPC
 * `TraceService/Export` are thin adapters around it.
 */
export class TraceReceiver {
  private readonly _o: TraceReceiverOptions;
  /** Why requests are being refused, logged once when it starts and once when it ends. */
  private _refusing: string | undefined;

  constructor(o: TraceReceiverOptions) {
    this._o = o;
  }

  /**
   * Whether a request may be taken now, decided BEFORE its body is read: while the receiver
   * cannot keep what it would acknowledge (shutting down, the spool full or unwritable, the
   * queue to Fenra full) requests are refused at once, so refusing costs next to nothing and
   * never starves delivery. Undefined: read the request and hand it to {@link receive}.
   */
  admit(): Busy | undefined {
    if (this._o.accepting !== undefined && !this._o.accepting())
      return { kind: 'busy', why: 'shutdown', message: 'shutting down' };
    const p = this._o.billing.pressure();
    if (p === undefined) return undefined;
    this.pressure(PRESSURE[p.why]);
    return { kind: 'busy', why: p.why, message: p.message };
  }

  /** Logs (once) that requests are refused for `why`, or (once) that they are taken again. */
  pressure(why: string | undefined): void {
    if (why === this._refusing) return;
    if (why !== undefined) log.warn(`refusing requests (429/503 + Retry-After): ${why}`);
    else log.info(`accepting requests again (was: ${this._refusing})`);
    this._refusing = why;
  }

  /** Decodes and bills one request body (decompressed); `raw` is forwarded once it is taken. */
  async receive(body: Buffer, enc: Encoding, raw?: RawRequest): Promise<ReceiveOutcome> {
    const m = this._o.metrics;
    m.add('fenra.otel.receiver.bytes', raw?.raw.length ?? body.length, { encoding: enc });
    const limits = this._o.limits;
    if (limits !== undefined && enc === 'json') {
      const check = checkJson(body, limits);
      if (!check.ok) return { kind: 'too_large', message: check.message };
    }
    // Protobuf is counted against the limits as it is scanned (it stops at the first past them).
    const decoded = this._decode(body, enc, limits);
    if ('message' in decoded) return { kind: 'invalid', message: decoded.message };
    if (decoded.tooLarge !== undefined) return { kind: 'too_large', message: decoded.tooLarge };
    const { spans, errors } = decoded;
    if (spans.length === 0 && errors.length > 0) {
      // Nothing in the request could be read: bad input, which the sender must not retry.
      return { kind: 'invalid', message: errors.slice(0, 5).join('; ').slice(0, 1000) };
    }
    m.add('fenra.otel.receiver.spans', spans.length, { encoding: enc });

    const outcome = await this._o.billing.ingest(spans, this._o.billing.keep);
    if (outcome.status === 'full') {
      this.pressure(PRESSURE[outcome.why]);
      return { kind: 'busy', why: outcome.why, message: `${PRESSURE[outcome.why]}, retry later` };
    }
    this.pressure(undefined);
    if (raw !== undefined) this._o.forwarder?.forward(raw.raw, raw.contentType, raw.contentEncoding);
    if (errors.length === 0) return { kind: 'ok' };
    const partial = {
      rejectedSpans: errors.length,
      errorMessage: errors.slice(0, 5).join('; ').slice(0, 1000),
    };
    m.add('fenra.otel.receiver.spans_rejected', partial.rejectedSpans);
    log.warn(`partial success: ${partial.rejectedSpans} span(s) rejected: ${partial.errorMessage}`);
    return { kind: 'ok', partial };
  }

  private _decode(
    body: Buffer,
    enc: Encoding,
    limits: RequestLimits | undefined,
  ): { spans: SpanView[]; errors: readonly string[]; tooLarge?: string } | { message: string } {
    const keep = this._o.billing.keep;
    try {
      if (enc === 'protobuf') return decodeTraceRequest(body, keep, limits);
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch (e) {
        return { message: `body is not valid JSON: ${(e as Error).message}` };
      }
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
        return { message: 'body is not an ExportTraceServiceRequest object' };
      }
      return spansFromOtlpJson(parsed, keep);
    } catch (e) {
      return { message: `cannot decode the ${enc} body: ${(e as Error).message}` };
    }
  }
}
