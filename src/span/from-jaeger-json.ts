import type { AttrValue, Attributes, SpanEventView, SpanView } from './span-view.js';
import type { AttributeFilter } from './attribute-filter.js';
import { filterSpan } from './attribute-filter.js';
import { EMPTY_ATTRIBUTES, EMPTY_EVENTS, epochMs, int64Value } from './otlp-common.js';

/**
 * SpanViews from a Jaeger JSON export: what Jaeger UI's "Download JSON" and the query API
 * (`/api/traces`) give, `{"data": [{"traceID", "spans": [...], "processes": {...}}]}`. A span
 * has `traceID`, `spanID`, `operationName`, `references` (`CHILD_OF` / `FOLLOWS_FROM`),
 * `startTime` and `duration` in microseconds, `tags` (`{key, type, value}`), `logs`, and its
 * process by `processID` (or inline as `process`). What Jaeger's OTLP translation folded into
 * tags is read back: `span.kind`, `otel.status_code` / `error`, `otel.scope.name` /
 * `otel.library.name` (and versions); the process becomes the resource (`service.name` from
 * `serviceName`, plus its tags). A malformed span is skipped with one error; nothing here throws.
 */

type Obj = Record<string, unknown>;

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Whether a parsed JSON document is a Jaeger export (a `data` array of traces with spans). */
export function isJaegerJson(doc: unknown): boolean {
  if (!isObject(doc) || !Array.isArray(doc['data'])) return false;
  const first: unknown = doc['data'][0];
  // An empty export (`{"data": []}`) is one too: a search that found nothing.
  return first === undefined || (isObject(first) && Array.isArray(first['spans']));
}

/** Tags Jaeger's OTLP translation adds; read into the span's kind, status and scope, not kept as attributes. */
const FOLDED_TAGS = new Set([
  'span.kind',
  'otel.status_code',
  'otel.status_description',
  'error',
  'otel.scope.name',
  'otel.scope.version',
  'otel.library.name',
  'otel.library.version',
  'internal.span.format',
]);

const KINDS: Readonly<Record<string, SpanView['kind']>> = {
  internal: 0,
  server: 1,
  client: 2,
  producer: 3,
  consumer: 4,
};

export function spansFromJaegerJson(
  doc: unknown,
  keep?: AttributeFilter,
): { spans: SpanView[]; errors: string[] } {
  const spans: SpanView[] = [];
  const errors: string[] = [];
  if (!isJaegerJson(doc)) {
    errors.push('expected a Jaeger JSON export ({"data": [{"traceID", "spans": [...]}]})');
    return { spans, errors };
  }
  const traces = (doc as Obj)['data'] as unknown[];
  for (let t = 0; t < traces.length; t++) {
    const trace = traces[t];
    const path = `data[${t}]`;
    if (!isObject(trace) || !Array.isArray(trace['spans'])) {
      errors.push(`${path}: expected a trace object with a spans array`);
      continue;
    }
    const processes = isObject(trace['processes']) ? trace['processes'] : {};
    const resources = new Map<string, Attributes>();
    const resourceOf = (span: Obj): Attributes => {
      if (isObject(span['process'])) return processResource(span['process']);
      const id = typeof span['processID'] === 'string' ? span['processID'] : '';
      let r = resources.get(id);
      if (r === undefined) {
        const p = processes[id];
        r = isObject(p) ? processResource(p) : EMPTY_ATTRIBUTES;
        resources.set(id, r);
      }
      return r;
    };
    const list = trace['spans'] as unknown[];
    for (let i = 0; i < list.length; i++) {
      const s = list[i];
      const result = isObject(s) ? spanOf(s, resourceOf(s), keep) : 'expected a span object';
      if (typeof result === 'string') errors.push(`${path}.spans[${i}]: ${result}`);
      else spans.push(result);
    }
  }
  return { spans, errors };
}

function processResource(p: Obj): Attributes {
  const out: Record<string, AttrValue> = {};
  const tags = tagValues(p['tags']);
  for (const [k, v] of tags) out[k] = v;
  if (typeof p['serviceName'] === 'string' && p['serviceName'] !== '') out['service.name'] = p['serviceName'];
  return out;
}

/** A Jaeger id (hex, possibly without leading zeros) → lower-case hex of `bytes` bytes; undefined when invalid or zero. */
function hexId(v: unknown, bytes: number): string | undefined {
  if (typeof v !== 'string' || v.length === 0 || v.length > bytes * 2 || !/^[0-9a-fA-F]+$/.test(v))
    return undefined;
  const hex = v.toLowerCase().padStart(bytes * 2, '0');
  return /^0+$/.test(hex) ? undefined : hex;
}

/** Microseconds since the epoch (a number, or a decimal string) → epoch ms. */
function microsToMs(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isFinite(n) || n < 0) return undefined;
  const seconds = Math.floor(n / 1e6);
  return epochMs(seconds, (n - seconds * 1e6) * 1000);
}

function parentOf(span: Obj, traceId: string): string | undefined {
  const refs = span['references'];
  if (Array.isArray(refs)) {
    let followsFrom: string | undefined;
    for (const r of refs as unknown[]) {
      if (!isObject(r)) continue;
      const refTrace = hexId(r['traceID'], 16);
      if (refTrace !== undefined && refTrace !== traceId) continue;
      const id = hexId(r['spanID'], 8);
      if (id === undefined) continue;
      if (r['refType'] === 'CHILD_OF') return id;
      followsFrom ??= id;
    }
    if (followsFrom !== undefined) return followsFrom;
  }
  return hexId(span['parentSpanID'], 8);
}

function spanOf(s: Obj, resource: Attributes, keep: AttributeFilter | undefined): SpanView | string {
  const traceId = hexId(s['traceID'], 16);
  if (traceId === undefined) return 'invalid or missing traceID (hex, not all zero)';
  const spanId = hexId(s['spanID'], 8);
  if (spanId === undefined) return 'invalid or missing spanID (hex, not all zero)';
  const startTimeMs = microsToMs(s['startTime']);
  if (startTimeMs === undefined || startTimeMs === 0) return 'invalid or missing startTime (microseconds)';
  const duration = s['duration'] === undefined ? 0 : microsToMs(s['duration']);
  if (duration === undefined) return 'invalid duration (microseconds)';

  const tags = tagValues(s['tags']);
  const attributes: Record<string, AttrValue> = {};
  for (const [k, v] of tags) if (!FOLDED_TAGS.has(k)) attributes[k] = v;
  const tag = (key: string): AttrValue | undefined => tags.find(([k]) => k === key)?.[1];

  const kindTag = tag('span.kind');
  const statusTag = tag('otel.status_code');
  const description = tag('otel.status_description');
  const code: SpanView['status']['code'] =
    statusTag === 'ERROR' || (statusTag === undefined && (tag('error') === true || tag('error') === 'true'))
      ? 2
      : statusTag === 'OK'
        ? 1
        : 0;
  const scopeName = tag('otel.scope.name') ?? tag('otel.library.name');
  const scopeVersion = tag('otel.scope.version') ?? tag('otel.library.version');
  const name = s['operationName'];
  const view: SpanView = {
    traceId,
    spanId,
    parentSpanId: parentOf(s, traceId),
    name: typeof name === 'string' ? name : '',
    kind: (typeof kindTag === 'string' ? KINDS[kindTag.toLowerCase()] : undefined) ?? 0,
    startTimeMs,
    endTimeMs: startTimeMs + duration,
    status: typeof description === 'string' && description !== '' ? { code, message: description } : { code },
    attributes,
    resource,
    scope:
      typeof scopeVersion === 'string' && scopeVersion !== ''
        ? { name: typeof scopeName === 'string' ? scopeName : '', version: scopeVersion }
        : { name: typeof scopeName === 'string' ? scopeName : '' },
    events: keep !== undefined ? EMPTY_EVENTS : eventsOf(s['logs']),
  };
  // The same allow-list as the OTLP decoders: span and resource attributes, no status message.
  return keep === undefined ? view : filterSpan(view, keep);
}

/** Jaeger `[{key, type, value}]` → key/value pairs, typed by `type` (int64 as a number or its digits). */
function tagValues(v: unknown): [string, AttrValue][] {
  if (!Array.isArray(v)) return [];
  const out: [string, AttrValue][] = [];
  for (const t of v as unknown[]) {
    if (!isObject(t) || typeof t['key'] !== 'string') continue;
    out.push([t['key'], tagValue(t['type'], t['value'])]);
  }
  return out;
}

function tagValue(type: unknown, value: unknown): AttrValue {
  const kind = typeof type === 'string' ? type.toLowerCase() : '';
  switch (kind) {
    case 'bool':
      return value === true || value === 'true';
    case 'int64':
      if (typeof value === 'number') return value;
      if (typeof value === 'string' && /^-?\d+$/.test(value)) return int64Value(value);
      return null;
    case 'float64':
      if (typeof value === 'number') return value;
      if (typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value)))
        return Number(value);
      return null;
    case 'binary':
      if (typeof value === 'string') {
        const b = Buffer.from(value, 'base64');
        return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
      }
      return null;
    default:
      if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
      return null;
  }
}

function eventsOf(v: unknown): readonly SpanEventView[] {
  if (!Array.isArray(v) || v.length === 0) return EMPTY_EVENTS;
  const out: SpanEventView[] = [];
  for (const log of v as unknown[]) {
    if (!isObject(log)) continue;
    const fields = tagValues(log['fields']);
    const event = fields.find(([k]) => k === 'event')?.[1];
    const attributes: Record<string, AttrValue> = {};
    for (const [k, val] of fields) if (k !== 'event') attributes[k] = val;
    out.push({
      name: typeof event === 'string' ? event : '',
      timeMs: microsToMs(log['timestamp']) ?? 0,
      attributes,
    });
  }
  return out;
}
