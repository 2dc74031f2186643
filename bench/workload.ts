/**
 * The benchmark workload: requests made of HTTP/DB-like spans with one LLM call each (10 %
 * GenAI spans). The LLM spans are the billed spans of the recorded real traces in
 * test/fixtures/recorded (their scope, kind, name and attributes), each with a fresh
 * provider response id so none is a duplicate of another.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Attributes, AttributeValue, Context, Tracer } from '@opentelemetry/api';
import { ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { IdGenerator } from '@opentelemetry/sdk-trace-base';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { toTransactions } from '../src/stage/to-transactions.js';
import { PriceBook } from '../src/pricing/price-book.js';
import { parseOtlpJsonText, spansFromOtlpJson } from '../src/span/from-otlp-json.js';
import type { SpanView } from '../src/span/span-view.js';

export const FIXTURES = join(import.meta.dirname, '..', 'test', 'fixtures', 'recorded');

export interface SpanTemplate {
  name: string;
  kind: SpanKind;
  scope: string;
  scopeVersion: string | undefined;
  attributes: Attributes;
  /** Attribute keys that hold a provider response id (made unique per span). */
  idKeys: string[];
}

function toOtelAttributes(a: SpanView['attributes']): Attributes {
  const out: Attributes = {};
  for (const [k, v] of Object.entries(a)) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = v;
    else if (Array.isArray(v) && v.every((x) => typeof x === 'string')) out[k] = v as AttributeValue;
    else if (Array.isArray(v) && v.every((x) => typeof x === 'number')) out[k] = v as AttributeValue;
  }
  return out;
}

let genAiCache: SpanTemplate[] | undefined;

/** The spans the converter bills in every recorded trace: real LLM client spans of many dialects. */
export function genAiTemplates(): SpanTemplate[] {
  if (genAiCache) return genAiCache;
  const pricer = new PriceBook();
  const out: SpanTemplate[] = [];
  for (const file of readdirSync(FIXTURES)
    .filter((f) => f.endsWith('.otlp.json'))
    .sort()) {
    const { requests } = parseOtlpJsonText(readFileSync(join(FIXTURES, file), 'utf8'));
    const spans = requests.flatMap((r) => spansFromOtlpJson(r).spans);
    const billed = new Set(
      toTransactions(spans, { pricer, defaultCustomerId: 'default' }).transactions.map((t) => t.span.spanId),
    );
    for (const s of spans) {
      if (!billed.has(s.spanId)) continue;
      const attributes = toOtelAttributes(s.attributes);
      out.push({
        name: s.name,
        kind: s.kind as SpanKind,
        scope: s.scope.name,
        scopeVersion: s.scope.version,
        attributes,
        idKeys: Object.keys(attributes).filter((k) => /response\.id$|\.response_id$/.test(k)),
      });
    }
  }
  if (out.length === 0) throw new Error('no billed spans in the fixtures');
  genAiCache = out;
  return out;
}

/** HTTP server / client and database spans with the attributes common instrumentations set. */
export const SERVER: SpanTemplate = {
  name: 'POST /api/chat',
  kind: SpanKind.SERVER,
  scope: '@opentelemetry/instrumentation-http',
  scopeVersion: '0.208.0',
  idKeys: [],
  attributes: {
    'http.request.method': 'POST',
    'http.route': '/api/chat',
    'url.path': '/api/chat',
    'url.scheme': 'https',
    'server.address': 'api.example.com',
    'server.port': 443,
    'network.protocol.version': '1.1',
    'user_agent.original': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36',
    'client.address': '10.0.3.17',
    'http.response.status_code': 200,
  },
};

export const OTHERS: SpanTemplate[] = [
  {
    name: 'pg.query:SELECT app',
    kind: SpanKind.CLIENT,
    scope: '@opentelemetry/instrumentation-pg',
    scopeVersion: '0.61.0',
    idKeys: [],
    attributes: {
      'db.system.name': 'postgresql',
      'db.namespace': 'app',
      'db.query.text': 'SELECT id, plan, quota FROM accounts WHERE id = $1',
      'db.operation.name': 'SELECT',
      'server.address': 'db.internal',
      'server.port': 5432,
    },
  },
  {
    name: 'redis-GET',
    kind: SpanKind.CLIENT,
    scope: '@opentelemetry/instrumentation-ioredis',
    scopeVersion: '0.56.0',
    idKeys: [],
    attributes: {
      'db.system.name': 'redis',
      'db.query.text': 'GET session:*',
      'db.operation.name': 'GET',
      'server.address': 'cache.internal',
      'server.port': 6379,
    },
  },
  {
    name: 'GET',
    kind: SpanKind.CLIENT,
    scope: '@opentelemetry/instrumentation-undici',
    scopeVersion: '0.19.0',
    idKeys: [],
    attributes: {
      'http.request.method': 'GET',
      'url.full': 'https://profiles.internal/v1/users/42',
      'server.address': 'profiles.internal',
      'server.port': 443,
      'http.response.status_code': 200,
      'network.peer.address': '10.0.5.3',
    },
  },
  {
    name: 'middleware - auth',
    kind: SpanKind.INTERNAL,
    scope: '@opentelemetry/instrumentation-express',
    scopeVersion: '0.57.0',
    idKeys: [],
    attributes: { 'http.route': '/api/chat', 'express.name': 'auth', 'express.type': 'middleware' },
  },
];

/** Spans per request: 1 server span, 8 others, 1 LLM span. */
export const SPANS_PER_REQUEST = 10;

let seq = 0;

function withIds(t: SpanTemplate): Attributes {
  if (t.idKeys.length === 0) return t.attributes;
  const a = { ...t.attributes };
  const id = `resp_${(++seq).toString(36)}`;
  for (const k of t.idKeys) a[k] = id;
  return a;
}

export interface Tracers {
  get(scope: string, version: string | undefined): Tracer;
}

/**
 * One request: the server span (with the customer id, as apps set it), eight HTTP/DB/internal
 * spans, one LLM span, all children of the server span; children end first.
 */
export function runRequest(tracers: Tracers, i: number): void {
  const genai = genAiTemplates();
  const root = tracers.get(SERVER.scope, SERVER.scopeVersion).startSpan(
    SERVER.name,
    {
      kind: SERVER.kind,
      attributes: { ...SERVER.attributes, 'fenra.billable_customer_id': `cust_${i % 50}` },
    },
    ROOT_CONTEXT,
  );
  const ctx: Context = trace.setSpan(ROOT_CONTEXT, root);
  for (let k = 0; k < SPANS_PER_REQUEST - 2; k++) {
    const t = OTHERS[k % OTHERS.length] as SpanTemplate;
    tracers
      .get(t.scope, t.scopeVersion)
      .startSpan(t.name, { kind: t.kind, attributes: t.attributes }, ctx)
      .end();
  }
  const g = genai[i % genai.length] as SpanTemplate;
  tracers
    .get(g.scope, g.scopeVersion)
    .startSpan(g.name, { kind: g.kind, attributes: withIds(g) }, ctx)
    .end();
  root.end();
}

/** Tracer lookup without the provider's per-call key building. */
export function tracerCache(provider: { getTracer(name: string, version?: string): Tracer }): Tracers {
  const m = new Map<string, Tracer>();
  return {
    get(scope, version) {
      const key = `${scope}@${version ?? ''}`;
      let t = m.get(key);
      if (!t) m.set(key, (t = provider.getTracer(scope, version)));
      return t;
    },
  };
}

class CountingIds implements IdGenerator {
  private _t = 0;
  private _s = 0;
  generateTraceId(): string {
    return `7ace${(++this._t).toString(16).padStart(28, '0')}`;
  }
  generateSpanId(): string {
    return (++this._s).toString(16).padStart(16, '0');
  }
}

/**
 * An OTLP/protobuf ExportTraceServiceRequest of 512 spans, written by the real OTel serializer:
 * 256 traces of a server span and one LLM span (from the fixtures). Also returns where every
 * trace id sits in the buffer, so a sender can make each request's traces new.
 */
export async function buildSidecarPayload(): Promise<{
  payload: Uint8Array;
  traceIdOffsets: number[];
  genAiSpans: number;
}> {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      'service.name': 'support-bot',
      'service.version': '1.4.2',
      'deployment.environment.name': 'production',
      'telemetry.sdk.language': 'python',
      'telemetry.sdk.name': 'opentelemetry',
      'telemetry.sdk.version': '1.38.0',
    }),
    idGenerator: new CountingIds(),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracers = tracerCache(provider);
  const genai = genAiTemplates();
  const traces = 256;
  for (let i = 0; i < traces; i++) {
    const root = tracers.get(SERVER.scope, SERVER.scopeVersion).startSpan(
      SERVER.name,
      {
        kind: SERVER.kind,
        attributes: { ...SERVER.attributes, 'fenra.billable_customer_id': `cust_${i % 50}` },
      },
      ROOT_CONTEXT,
    );
    const g = genai[i % genai.length] as SpanTemplate;
    tracers
      .get(g.scope, g.scopeVersion)
      .startSpan(g.name, { kind: g.kind, attributes: withIds(g) }, trace.setSpan(ROOT_CONTEXT, root))
      .end();
    root.end();
  }
  await provider.forceFlush();
  const spans = exporter.getFinishedSpans();
  const payload = ProtobufTraceSerializer.serializeRequest(spans);
  await provider.shutdown();
  if (payload === undefined) throw new Error('serializer produced nothing');
  const buf = Buffer.from(payload);
  const traceIdOffsets: number[] = [];
  const ids = new Set(spans.map((s) => s.spanContext().traceId));
  for (const id of ids) {
    const needle = Buffer.from(id, 'hex');
    for (let at = buf.indexOf(needle); at !== -1; at = buf.indexOf(needle, at + 1)) traceIdOffsets.push(at);
  }
  if (traceIdOffsets.length !== spans.length) {
    throw new Error(`expected ${spans.length} trace id occurrences, found ${traceIdOffsets.length}`);
  }
  return { payload, traceIdOffsets, genAiSpans: traces };
}
