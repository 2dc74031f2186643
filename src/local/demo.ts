import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Attributes as OtelAttributes, AttributeValue } from '@opentelemetry/api';
import { millisToHrTime } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { ExportResultCode } from '@opentelemetry/core';
import { spansFromOtlpJson } from '../span/from-otlp-json.js';
import type { Attributes, SpanView } from '../span/span-view.js';

/**
 * The demo sender: replays GenAI traces recorded from real SDKs and instrumentations
 * (`examples/demo-traces/*.otlp.json`) through the real OTLP/HTTP protobuf exporter, as an
 * instrumented app would. Each replay gets a fresh trace id and is moved to the present, so
 * it is a new set of provider calls, billed now.
 */
export interface DemoTrace {
  name: string;
  spans: SpanView[];
}

/** The bundled demo traces' folder, found from this module (src/local or dist) upwards. */
export function demoTracesDir(): string | undefined {
  let dir = fileURLToPath(new URL('.', import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'examples', 'demo-traces');
    if (existsSync(candidate)) return candidate;
    dir = join(dir, '..');
  }
  return undefined;
}

/** Reads every `*.otlp.json` of a folder (sorted by name). */
export function loadDemoTraces(dir: string): DemoTrace[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.otlp.json'))
    .sort()
    .map((f) => {
      const { spans } = spansFromOtlpJson(JSON.parse(readFileSync(join(dir, f), 'utf8')) as unknown);
      return { name: f.replace(/\.otlp\.json$/, ''), spans };
    })
    .filter((t) => t.spans.length > 0);
}

function otelValue(v: Attributes[string]): AttributeValue | undefined {
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (Array.isArray(v)) {
    const prims = v.filter((x): x is string | number | boolean =>
      ['string', 'number', 'boolean'].includes(typeof x),
    );
    return prims as AttributeValue;
  }
  return undefined; // bytes and maps: not needed for billing
}

function otelAttributes(a: Attributes): OtelAttributes {
  const out: OtelAttributes = {};
  for (const [k, v] of Object.entries(a)) {
    const o = otelValue(v);
    if (o !== undefined) out[k] = o;
  }
  return out;
}

/**
 * The spans of one trace as an SDK would hand them to its exporter: a new trace id, and times
 * moved so that the trace's last span ends at `endAtMs`.
 */
export function replayableSpans(spans: readonly SpanView[], endAtMs: number): ReadableSpan[] {
  const traceId = randomBytes(16).toString('hex');
  const lastEnd = Math.max(...spans.map((s) => s.endTimeMs));
  const shift = endAtMs - lastEnd;
  return spans.map((s): ReadableSpan => {
    const start = s.startTimeMs + shift;
    const end = s.endTimeMs + shift;
    return {
      name: s.name,
      kind: s.kind,
      spanContext: () => ({ traceId, spanId: s.spanId, traceFlags: 1 }),
      parentSpanContext:
        s.parentSpanId === undefined ? undefined : { traceId, spanId: s.parentSpanId, traceFlags: 1 },
      startTime: millisToHrTime(start),
      endTime: millisToHrTime(end),
      duration: millisToHrTime(Math.max(0, end - start)),
      status: s.status.message === undefined ? { code: s.status.code } : { ...s.status },
      attributes: otelAttributes(s.attributes),
      links: [],
      events: s.events.map((e) => ({
        name: e.name,
        time: millisToHrTime(e.timeMs + shift),
        attributes: otelAttributes(e.attributes),
      })),
      ended: true,
      resource: resourceFromAttributes(otelAttributes(s.resource)),
      instrumentationScope: { name: s.scope.name, version: s.scope.version },
      droppedAttributesCount: 0,
      droppedEventsCount: 0,
      droppedLinksCount: 0,
    };
  });
}

export interface DemoOptions {
  /** OTLP/HTTP traces URL, e.g. `http://127.0.0.1:4318/v1/traces`. */
  url: string;
  traces: readonly DemoTrace[];
  headers?: Record<string, string>;
  /** After the first pass over every trace, replay this many more, one per `intervalMillis`. */
  extra?: number;
  intervalMillis?: number;
  /** Stops the trickle early. */
  signal?: AbortSignal;
  /** Called after each trace was sent (or failed). */
  onSent?: (trace: string, ok: boolean, error?: Error) => void;
  random?: () => number;
  now?: () => number;
}

/** Sends the traces; resolves with how many went through. Never rejects. */
export async function runDemo(o: DemoOptions): Promise<{ sent: number; failed: number }> {
  const exporter = new OTLPTraceExporter({ url: o.url, headers: o.headers ?? {} });
  const now = o.now ?? Date.now;
  const random = o.random ?? Math.random;
  let sent = 0;
  let failed = 0;
  const one = async (t: DemoTrace): Promise<void> => {
    const spans = replayableSpans(t.spans, now());
    const result = await new Promise<{ ok: boolean; error?: Error }>((resolve) =>
      exporter.export(spans, (r) =>
        resolve(
          r.code === ExportResultCode.SUCCESS
            ? { ok: true }
            : { ok: false, ...(r.error ? { error: r.error } : {}) },
        ),
      ),
    );
    if (result.ok) sent++;
    else failed++;
    o.onSent?.(t.name, result.ok, result.error);
  };
  try {
    for (const t of o.traces) {
      if (o.signal?.aborted) break;
      await one(t);
    }
    for (let i = 0; i < (o.extra ?? 0) && o.traces.length > 0; i++) {
      if (!(await pause(o.intervalMillis ?? 3_000, o.signal))) break;
      await one(o.traces[Math.floor(random() * o.traces.length)]!);
    }
  } finally {
    await exporter.shutdown().catch(() => undefined);
  }
  return { sent, failed };
}

/** Waits; false when the signal aborted first. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      resolve(false);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
