import type { AttrValue, Attributes, SpanEventView, SpanView } from './span-view.js';
import type { AttributeFilter } from './attribute-filter.js';
import { boundedName } from './attribute-filter.js';
import {
  EMPTY_ATTRIBUTES,
  EMPTY_EVENTS,
  int64Value,
  kindFromJson,
  nanosNumberToMs,
  nanosStringToMs,
  parentIsRemoteFromFlags,
  statusCodeFrom,
} from './otlp-common.js';

/**
 * SpanViews from an OTLP/JSON ExportTraceServiceRequest (resourceSpans → scopeSpans → spans;
 * also the legacy instrumentationLibrarySpans / instrumentationLibrary). Accepts both id
 * encodings seen in the wild: hex (the OTLP/JSON spec) and base64 (the plain proto3 JSON
 * mapping); int64 fields as strings or numbers; kinds and status codes as numbers or enum
 * names. A malformed span is skipped with one error; nothing here throws. With `filter`, span and
 * resource attributes are kept through it, and events and status messages are left out.
 */
export function spansFromOtlpJson(
  request: unknown,
  filter?: AttributeFilter,
): { spans: SpanView[]; errors: string[] } {
  const spans: SpanView[] = [];
  const errors: string[] = [];
  if (!isObject(request)) {
    errors.push(`request: expected an ExportTraceServiceRequest object, got ${describe(request)}`);
    return { spans, errors };
  }
  const resourceSpans = request['resourceSpans'] ?? request['resource_spans'];
  if (resourceSpans === undefined) return { spans, errors };
  if (!Array.isArray(resourceSpans)) {
    errors.push(`resourceSpans: expected an array, got ${describe(resourceSpans)}`);
    return { spans, errors };
  }
  for (let r = 0; r < resourceSpans.length; r++) {
    const rs: unknown = resourceSpans[r];
    const rPath = `resourceSpans[${r}]`;
    if (!isObject(rs)) {
      errors.push(`${rPath}: expected an object, got ${describe(rs)}`);
      continue;
    }
    const resourceObj = rs['resource'];
    const resource = isObject(resourceObj) ? keyValues(resourceObj['attributes'], filter) : EMPTY_ATTRIBUTES;
    const [scopeKey, scopeList] = firstPresent(rs, SCOPE_LIST_KEYS);
    if (scopeList === undefined) continue;
    if (!Array.isArray(scopeList)) {
      errors.push(`${rPath}.${scopeKey}: expected an array, got ${describe(scopeList)}`);
      continue;
    }
    for (let s = 0; s < scopeList.length; s++) {
      const ss: unknown = scopeList[s];
      const sPath = `${rPath}.${scopeKey}[${s}]`;
      if (!isObject(ss)) {
        errors.push(`${sPath}: expected an object, got ${describe(ss)}`);
        continue;
      }
      const scope = scopeOf(firstPresent(ss, SCOPE_KEYS)[1], filter !== undefined);
      const list = ss['spans'];
      if (list === undefined) continue;
      if (!Array.isArray(list)) {
        errors.push(`${sPath}.spans: expected an array, got ${describe(list)}`);
        continue;
      }
      for (let i = 0; i < list.length; i++) {
        const result = spanOf(list[i], resource, scope, filter);
        if (typeof result === 'string') errors.push(`${sPath}.spans[${i}]: ${result}`);
        else spans.push(result);
      }
    }
  }
  return { spans, errors };
}

/**
 * Parses OTLP/JSON text: one JSON document, or JSON Lines (one request per line, as the
 * Collector's `file` exporter writes). Blank lines are ignored; a bad line gives an error
 * naming its line number and the other lines are still parsed.
 */
export function parseOtlpJsonText(text: string): { requests: unknown[]; errors: string[] } {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (body.trim() === '') return { requests: [], errors: ['empty input: no OTLP/JSON document'] };
  try {
    return { requests: [JSON.parse(body) as unknown], errors: [] };
  } catch (wholeError) {
    // Not one document: JSON Lines. A bad line (the first one too) is reported by number and
    // the others are kept; if no line is JSON by itself, it was one broken document.
    const lines = body.split('\n');
    const requests: unknown[] = [];
    const errors: string[] = [];
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      if (line.trim() === '') continue;
      const parsed = tryParse(line);
      if ('error' in parsed) errors.push(`line ${i + 1}: invalid JSON: ${parsed.error}`);
      else requests.push(parsed.value);
    }
    if (requests.length === 0) return { requests, errors: [`invalid JSON: ${messageOf(wholeError)}`] };
    return { requests, errors };
  }
}

const SCOPE_LIST_KEYS = [
  'scopeSpans',
  'scope_spans',
  'instrumentationLibrarySpans',
  'instrumentation_library_spans',
];
const SCOPE_KEYS = ['scope', 'instrumentationLibrary', 'instrumentation_library'];
/** JSON.parse, with the error message instead of a throw. */
export function tryParse(line: string): { value: unknown } | { error: string } {
  try {
    return { value: JSON.parse(line) as unknown };
  } catch (e) {
    return { error: messageOf(e) };
  }
}

type Obj = Record<string, unknown>;

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v;
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function firstPresent(o: Obj, keys: readonly string[]): [string, unknown] {
  for (const k of keys) if (o[k] !== undefined) return [k, o[k]];
  return [keys[0]!, undefined];
}

function scopeOf(v: unknown, bounded: boolean): SpanView['scope'] {
  if (!isObject(v)) return { name: '' };
  const cut = bounded ? boundedName : (s: string): string => s;
  const name = typeof v['name'] === 'string' ? cut(v['name']) : '';
  const version = v['version'];
  return typeof version === 'string' && version !== '' ? { name, version: cut(version) } : { name };
}

function spanOf(
  v: unknown,
  resource: Attributes,
  scope: SpanView['scope'],
  filter: AttributeFilter | undefined,
): SpanView | string {
  if (!isObject(v)) return `expected a span object, got ${describe(v)}`;
  const traceId = idToHex(v['traceId'] ?? v['trace_id'], 16);
  if (traceId === undefined)
    return 'invalid or missing traceId (need 16 bytes as hex or base64, not all zero)';
  const spanId = idToHex(v['spanId'] ?? v['span_id'], 8);
  if (spanId === undefined) return 'invalid or missing spanId (need 8 bytes as hex or base64, not all zero)';
  const parentRaw = v['parentSpanId'] ?? v['parent_span_id'];
  let parentSpanId: string | undefined;
  if (parentRaw !== undefined && parentRaw !== null && parentRaw !== '') {
    parentSpanId = idToHex(parentRaw, 8);
    if (parentSpanId === undefined && !isZeroId(parentRaw)) {
      return 'invalid parentSpanId (need 8 bytes as hex or base64)';
    }
  }
  const startTimeMs = nanosToMs(v['startTimeUnixNano'] ?? v['start_time_unix_nano']);
  if (startTimeMs === undefined || startTimeMs === 0) return 'invalid or missing startTimeUnixNano';
  const endRaw = v['endTimeUnixNano'] ?? v['end_time_unix_nano'];
  const endTimeMs = endRaw === undefined ? startTimeMs : nanosToMs(endRaw);
  if (endTimeMs === undefined) return 'invalid endTimeUnixNano';
  const name = v['name'];
  const status = v['status'];
  let statusView: SpanView['status'] = UNSET;
  if (isObject(status)) {
    const code = statusCodeFrom(status['code']);
    const message = status['message'];
    // A status message is free text (often the provider's error, with the request in it).
    statusView =
      typeof message === 'string' && message !== '' && filter === undefined ? { code, message } : { code };
  }
  return {
    traceId,
    spanId,
    parentSpanId,
    parentIsRemote: (parentSpanId !== undefined && parentIsRemoteFromFlags(v['flags'])) || undefined,
    name: typeof name !== 'string' ? '' : filter !== undefined ? boundedName(name) : name,
    kind: kindFromJson(v['kind']),
    startTimeMs,
    endTimeMs: endTimeMs === 0 ? startTimeMs : endTimeMs,
    status: statusView,
    attributes: keyValues(v['attributes'], filter),
    resource,
    scope,
    events: filter !== undefined ? EMPTY_EVENTS : eventsOf(v['events']),
  };
}

const UNSET: SpanView['status'] = Object.freeze({ code: 0 });

function eventsOf(v: unknown): readonly SpanEventView[] {
  if (!Array.isArray(v) || v.length === 0) return EMPTY_EVENTS;
  const out: SpanEventView[] = [];
  for (const e of v as unknown[]) {
    if (!isObject(e)) continue;
    const name = e['name'];
    out.push({
      name: typeof name === 'string' ? name : '',
      timeMs: nanosToMs(e['timeUnixNano'] ?? e['time_unix_nano']) ?? 0,
      attributes: keyValues(e['attributes']),
    });
  }
  return out;
}

function nanosToMs(v: unknown): number | undefined {
  if (typeof v === 'string') return nanosStringToMs(v);
  if (typeof v === 'number') return nanosNumberToMs(v);
  return undefined;
}

/** A list of OTLP KeyValue → plain attributes object (later duplicates win), through `filter`. */
function keyValues(v: unknown, filter?: AttributeFilter): Attributes {
  if (!Array.isArray(v) || v.length === 0) return EMPTY_ATTRIBUTES;
  const out: Record<string, AttrValue> = {};
  for (const kv of v as unknown[]) {
    if (!isObject(kv)) continue;
    const key = kv['key'];
    if (typeof key !== 'string') continue;
    if (filter === undefined) {
      out[key] = anyValue(kv['value']);
      continue;
    }
    const rule = filter(key);
    if (rule === undefined) continue;
    const kept = rule(anyValue(kv['value']));
    if (kept !== undefined) out[key] = kept;
    // A later duplicate its rule drops drops the earlier one too.
    else delete out[key];
  }
  return out;
}

/** An OTLP/JSON AnyValue → AttrValue; an empty or unknown AnyValue → null. */
/** Deeper AnyValue nesting than this is cut (null): no billing attribute nests, and recursion must stay bounded. */
export const MAX_ANY_VALUE_DEPTH = 64;

export function anyValue(v: unknown, depth = 0): AttrValue {
  if (!isObject(v) || depth > MAX_ANY_VALUE_DEPTH) return null;
  for (const key in v) {
    const x = v[key];
    switch (key) {
      case 'stringValue':
      case 'string_value':
        if (typeof x === 'string') return x;
        break;
      case 'boolValue':
      case 'bool_value':
        if (typeof x === 'boolean') return x;
        break;
      case 'intValue':
      case 'int_value':
        if (typeof x === 'number') return x;
        if (typeof x === 'string' && /^-?\d+$/.test(x)) return int64Value(x);
        break;
      case 'doubleValue':
      case 'double_value':
        if (typeof x === 'number') return x;
        // proto3 JSON writes non-finite doubles (and sometimes others) as strings.
        if (typeof x === 'string' && x.trim() !== '' && !Number.isNaN(Number(x))) return Number(x);
        if (x === 'NaN') return NaN;
        break;
      case 'arrayValue':
      case 'array_value': {
        const values = isObject(x) ? x['values'] : undefined;
        return Array.isArray(values) ? (values as unknown[]).map((e) => anyValue(e, depth + 1)) : [];
      }
      case 'kvlistValue':
      case 'kvlist_value': {
        const values = isObject(x) ? x['values'] : undefined;
        const out: Record<string, AttrValue> = {};
        if (Array.isArray(values)) {
          for (const kv of values as unknown[]) {
            if (isObject(kv) && typeof kv['key'] === 'string')
              out[kv['key']] = anyValue(kv['value'], depth + 1);
          }
        }
        return out;
      }
      case 'bytesValue':
      case 'bytes_value':
        if (typeof x === 'string') return base64Bytes(x) ?? x;
        break;
    }
  }
  return null;
}

const HEX = /^[0-9a-fA-F]+$/;
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;

function base64Bytes(s: string): Uint8Array | undefined {
  if (s !== '' && !BASE64.test(s)) return undefined;
  const b = Buffer.from(s, 'base64');
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** An id of `bytes` bytes given as hex or base64 → lower-case hex; undefined when invalid or zero. */
function idToHex(v: unknown, bytes: number): string | undefined {
  if (typeof v !== 'string') return undefined;
  let hex: string | undefined;
  if (v.length === bytes * 2 && HEX.test(v)) hex = v.toLowerCase();
  else if (BASE64.test(v)) {
    const b = Buffer.from(v, 'base64');
    if (b.length === bytes) hex = b.toString('hex');
  }
  return hex === undefined || /^0+$/.test(hex) ? undefined : hex;
}

function isZeroId(v: unknown): boolean {
  if (typeof v !== 'string') return false;
  if (/^0+$/.test(v)) return true;
  return BASE64.test(v) && Buffer.from(v, 'base64').every((x) => x === 0);
}
