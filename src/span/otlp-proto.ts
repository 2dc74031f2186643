import type { AttrValue, Attributes, SpanEventView, SpanView } from './span-view.js';
import { MAX_ANY_VALUE_DEPTH } from './from-otlp-json.js';
import { ExportTraceServiceRequest, ExportTraceServiceResponse } from './otlp-proto-schema.js';
import type { AttributeFilter } from './attribute-filter.js';
import { scanTraceRequest } from './otlp-proto-scan.js';
import type { RequestLimits } from './request-limits.js';
import { checkProtobuf, LimitCount, mayPassLimits, RequestTooLarge } from './request-limits.js';
import { int64 } from './wire-values.js';
import { boundedName } from './attribute-filter.js';
import {
  EMPTY_ATTRIBUTES,
  EMPTY_EVENTS,
  kindFromOtlp,
  nanosBitsToMs,
  nanosNumberToMs,
  parentIsRemoteFromFlags,
  statusCodeFrom,
} from './otlp-common.js';

/**
 * OTLP/protobuf for the sidecar: ExportTraceServiceRequest → SpanViews. With `filter`, the
 * request is scanned on the wire (see otlp-proto-scan.ts): span and resource attributes are
 * kept through the filter (values of the keys it refuses are never decoded), events and status
 * messages are left out (the sidecar keeps what billing reads). Without, it is decoded whole
 * ({@link decodeTraceRequestWhole}). A buffer that is not a valid request gives an error; a
 * span with invalid ids is skipped with an error naming it. With `limits`, a request holding
 * more spans or attributes than they allow gives `tooLarge` (and nothing else) as soon as it is
 * known, before more is decoded: the scanner counts as it reads (see request-limits.ts). Never
 * throws.
 */
export function decodeTraceRequest(
  buf: Uint8Array,
  filter?: AttributeFilter,
  limits?: RequestLimits,
): DecodedRequest {
  if (filter === undefined) {
    const check = limits === undefined ? undefined : checkProtobuf(buf, limits);
    if (check !== undefined && !check.ok) return { spans: [], errors: [], tooLarge: check.message };
    return decodeTraceRequestWhole(buf);
  }
  const count =
    limits !== undefined && mayPassLimits(buf.length, limits) ? new LimitCount(limits) : undefined;
  const spans: SpanView[] = [];
  const errors: string[] = [];
  try {
    scanTraceRequest(asBuffer(buf), filter, spans, errors, count);
  } catch (e) {
    if (e instanceof RequestTooLarge) return { spans: [], errors: [], tooLarge: e.message };
    const message = `invalid OTLP/protobuf ExportTraceServiceRequest: ${e instanceof Error ? e.message : String(e)}`;
    return { spans: [], errors: [message] };
  }
  return { spans, errors };
}

/** What a request decodes to: its spans, an error per span (or for the request) that could not be read. */
export interface DecodedRequest {
  spans: SpanView[];
  errors: string[];
  /** Set when the request holds more than the limits allow: why (for a 413); nothing was decoded. */
  tooLarge?: string;
}

/** A Buffer view (no copy) lets protobufjs use its Buffer reader: faster strings and ids. */
function asBuffer(buf: Uint8Array): Buffer {
  return Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
}

/**
 * The request decoded whole with protobufjs and converted from the decoded messages (no
 * intermediate JSON); with `filter`, the same result as {@link decodeTraceRequest} (which reads
 * less): kept for the unfiltered decode and as the reference the scanner is tested against.
 */
export function decodeTraceRequestWhole(
  buf: Uint8Array,
  filter?: AttributeFilter,
): { spans: SpanView[]; errors: string[] } {
  const spans: SpanView[] = [];
  const errors: string[] = [];
  let request: PbRequest;
  try {
    request = ExportTraceServiceRequest.decode(asBuffer(buf)) as unknown as PbRequest;
  } catch (e) {
    errors.push(
      `invalid OTLP/protobuf ExportTraceServiceRequest: ${e instanceof Error ? e.message : String(e)}`,
    );
    return { spans, errors };
  }
  try {
    const resourceSpans = request.resourceSpans;
    for (let r = 0; r < resourceSpans.length; r++) {
      const rs = resourceSpans[r]!;
      const resource = rs.resource !== null ? keyValues(rs.resource.attributes, filter) : EMPTY_ATTRIBUTES;
      collect(rs.scopeSpans, `resourceSpans[${r}].scopeSpans`, resource, spans, errors, filter);
      collect(
        rs.instrumentationLibrarySpans,
        `resourceSpans[${r}].instrumentationLibrarySpans`,
        resource,
        spans,
        errors,
        filter,
      );
    }
  } catch (e) {
    // Defensive: conversion is written not to throw, but a caller must never see an exception.
    errors.push(`failed to convert OTLP/protobuf spans: ${e instanceof Error ? e.message : String(e)}`);
  }
  return { spans, errors };
}

/**
 * An ExportTraceServiceResponse: empty on full success, or with `partial_success` (rejected
 * span count and a message) when some spans were rejected.
 */
export function encodeTraceResponse(partial?: { rejectedSpans: number; errorMessage: string }): Uint8Array {
  if (partial === undefined) return ExportTraceServiceResponse.encode({}).finish();
  const rejected = Number.isFinite(partial.rejectedSpans)
    ? Math.max(0, Math.trunc(partial.rejectedSpans))
    : 0;
  return ExportTraceServiceResponse.encode({
    partialSuccess: { rejectedSpans: rejected, errorMessage: partial.errorMessage },
  }).finish();
}

// The shapes protobufjs decodes into (see otlp-proto-schema.ts). Absent message fields are null;
// oneof members and scalars have prototype defaults, so presence is tested with Object.hasOwn.
interface PbLong {
  low: number;
  high: number;
}
type PbInt64 = PbLong | number;
interface PbAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: PbInt64;
  doubleValue?: number;
  arrayValue?: { values: PbAnyValue[] } | null;
  kvlistValue?: { values: PbKeyValue[] } | null;
  bytesValue?: Uint8Array;
}
interface PbKeyValue {
  key: string;
  value: PbAnyValue | null;
}
interface PbEvent {
  timeUnixNano: PbInt64;
  name: string;
  attributes: PbKeyValue[];
}
interface PbSpan {
  traceId: Uint8Array;
  spanId: Uint8Array;
  parentSpanId: Uint8Array;
  /** fixed32; bits 0x100/0x200: the parent's remoteness is known / the parent is remote. */
  flags: number;
  name: string;
  kind: number;
  startTimeUnixNano: PbInt64;
  endTimeUnixNano: PbInt64;
  attributes: PbKeyValue[];
  events: PbEvent[];
  status: { code: number; message: string } | null;
}
interface PbScopeSpans {
  scope?: { name: string; version: string } | null;
  instrumentationLibrary?: { name: string; version: string } | null;
  spans: PbSpan[];
}
interface PbRequest {
  resourceSpans: {
    resource: { attributes: PbKeyValue[] } | null;
    scopeSpans: PbScopeSpans[];
    instrumentationLibrarySpans: PbScopeSpans[];
  }[];
}

function collect(
  list: PbScopeSpans[],
  path: string,
  resource: Attributes,
  spans: SpanView[],
  errors: string[],
  filter: AttributeFilter | undefined,
): void {
  for (let s = 0; s < list.length; s++) {
    const ss = list[s]!;
    const sc = ss.scope ?? ss.instrumentationLibrary ?? null;
    const cut = filter !== undefined ? boundedName : (x: string): string => x;
    const name = sc !== null ? cut(sc.name) : '';
    const scope = sc !== null && sc.version !== '' ? { name, version: cut(sc.version) } : { name };
    const pbSpans = ss.spans;
    for (let i = 0; i < pbSpans.length; i++) {
      const view = spanOf(pbSpans[i]!, resource, scope, filter);
      if (typeof view === 'string') errors.push(`${path}[${s}].spans[${i}]: ${view}`);
      else spans.push(view);
    }
  }
}

const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);
const UNSET: SpanView['status'] = Object.freeze({ code: 0 });

function spanOf(
  s: PbSpan,
  resource: Attributes,
  scope: SpanView['scope'],
  filter: AttributeFilter | undefined,
): SpanView | string {
  if (s.traceId.length !== 16) return `invalid traceId (${s.traceId.length} bytes, need 16)`;
  if (s.spanId.length !== 8) return `invalid spanId (${s.spanId.length} bytes, need 8)`;
  const traceId = hex(s.traceId);
  const spanId = hex(s.spanId);
  if (traceId === ZERO_TRACE) return 'invalid traceId (all zero)';
  if (spanId === ZERO_SPAN) return 'invalid spanId (all zero)';
  let parentSpanId: string | undefined;
  const parentLength = s.parentSpanId.length;
  if (parentLength !== 0) {
    if (parentLength !== 8) return `invalid parentSpanId (${parentLength} bytes, need 8 or none)`;
    parentSpanId = hex(s.parentSpanId);
    if (parentSpanId === ZERO_SPAN) parentSpanId = undefined;
  }
  const startTimeMs = nanosToMs(s.startTimeUnixNano);
  if (startTimeMs === 0) return 'missing startTimeUnixNano';
  const endTimeMs = nanosToMs(s.endTimeUnixNano);
  const st = s.status;
  let status = UNSET;
  if (st !== null) {
    const code = statusCodeFrom(st.code);
    // A status message is free text (often the provider's error, with the request in it).
    status =
      st.message !== '' && filter === undefined
        ? { code, message: st.message }
        : code === 0
          ? UNSET
          : { code };
  }
  return {
    traceId,
    spanId,
    parentSpanId,
    parentIsRemote: (parentSpanId !== undefined && parentIsRemoteFromFlags(s.flags)) || undefined,
    name: filter !== undefined ? boundedName(s.name) : s.name,
    kind: kindFromOtlp(s.kind),
    startTimeMs,
    endTimeMs: endTimeMs === 0 ? startTimeMs : endTimeMs,
    status,
    attributes: keyValues(s.attributes, filter),
    resource,
    scope,
    events: s.events.length === 0 || filter !== undefined ? EMPTY_EVENTS : eventsOf(s.events),
  };
}

function eventsOf(events: PbEvent[]): SpanEventView[] {
  const out = new Array<SpanEventView>(events.length);
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    out[i] = { name: e.name, timeMs: nanosToMs(e.timeUnixNano), attributes: keyValues(e.attributes) };
  }
  return out;
}

function hex(bytes: Uint8Array): string {
  return Buffer.isBuffer(bytes)
    ? bytes.toString('hex')
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** fixed64 nanoseconds (a Long, or a number when protobufjs runs without Long) → epoch ms. */
function nanosToMs(v: PbInt64): number {
  if (typeof v === 'number') return nanosNumberToMs(v) ?? 0;
  return nanosBitsToMs(v.low, v.high);
}

function keyValues(list: PbKeyValue[], filter?: AttributeFilter): Attributes {
  if (list.length === 0) return EMPTY_ATTRIBUTES;
  const out: Record<string, AttrValue> = {};
  for (let i = 0; i < list.length; i++) {
    const kv = list[i]!;
    if (filter === undefined) {
      out[kv.key] = kv.value !== null ? anyValue(kv.value) : null;
      continue;
    }
    const rule = filter(kv.key);
    if (rule === undefined) continue;
    const kept = rule(kv.value !== null ? anyValue(kv.value) : null);
    if (kept !== undefined) out[kv.key] = kept;
    // A later duplicate its rule drops drops the earlier one too.
    else delete out[kv.key];
  }
  return out;
}

const has = Object.hasOwn;

/** Values nested deeper than OTLP/JSON keeps are cut the same way (null). */
function anyValue(v: PbAnyValue, depth = 0): AttrValue {
  if (depth > MAX_ANY_VALUE_DEPTH) return null;
  if (has(v, 'stringValue')) return v.stringValue!;
  if (has(v, 'intValue')) return int64(v.intValue!);
  if (has(v, 'doubleValue')) return v.doubleValue!;
  if (has(v, 'boolValue')) return v.boolValue!;
  if (has(v, 'arrayValue')) {
    const values = v.arrayValue?.values ?? [];
    const out = new Array<AttrValue>(values.length);
    for (let i = 0; i < values.length; i++) out[i] = anyValue(values[i]!, depth + 1);
    return out;
  }
  if (has(v, 'kvlistValue')) {
    const values = v.kvlistValue?.values ?? [];
    const out: Record<string, AttrValue> = {};
    for (const kv of values) out[kv.key] = kv.value !== null ? anyValue(kv.value, depth + 1) : null;
    return out;
  }
  if (has(v, 'bytesValue')) return Uint8Array.from(v.bytesValue!); // copy: the input buffer may be reused
  return null;
}
