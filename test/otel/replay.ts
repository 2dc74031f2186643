import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Context } from '@opentelemetry/api';
import { context, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { IdGenerator, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import type { Span } from '@opentelemetry/api';
import { parseOtlpJsonText, spansFromOtlpJson } from '../../src/span/from-otlp-json.js';
import type { SpanView } from '../../src/span/span-view.js';

export const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'recorded');

export function loadFixture(name: string): SpanView[] {
  const { requests } = parseOtlpJsonText(readFileSync(join(FIXTURES, `${name}.otlp.json`), 'utf8'));
  return requests.flatMap((r) => spansFromOtlpJson(r).spans);
}

/** Hands out recorded ids in the order spans are started, so replayed spans keep their ids. */
export class QueueIdGenerator implements IdGenerator {
  readonly traceIds: string[] = [];
  readonly spanIds: string[] = [];
  generateTraceId(): string {
    return this.traceIds.shift() ?? 'f'.repeat(32);
  }
  generateSpanId(): string {
    return this.spanIds.shift() ?? 'f'.repeat(16);
  }
}

/**
 * Replays recorded spans through a REAL BasicTracerProvider with the given processors: spans
 * start parent-first with their recorded scope, kind, attributes and times, and end in their
 * recorded end order (children first), exactly as the instrumentation made them.
 */
export async function replay(
  spans: readonly SpanView[],
  processors: SpanProcessor[],
): Promise<BasicTracerProvider> {
  const ids = new QueueIdGenerator();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes(spans[0]?.resource as Record<string, never>),
    idGenerator: ids,
    spanProcessors: processors,
  });
  const byParent = new Map<string | undefined, SpanView[]>();
  const known = new Set(spans.map((s) => s.spanId));
  for (const s of spans) {
    const parent = s.parentSpanId !== undefined && known.has(s.parentSpanId) ? s.parentSpanId : undefined;
    const list = byParent.get(parent) ?? [];
    list.push(s);
    byParent.set(parent, list);
  }
  const live: Array<{ view: SpanView; span: Span; depth: number }> = [];
  const start = (view: SpanView, parentCtx: Context, depth: number): void => {
    if (depth === 0) ids.traceIds.push(view.traceId);
    ids.spanIds.push(view.spanId);
    const tracer = provider.getTracer(view.scope.name, view.scope.version);
    const span = tracer.startSpan(
      view.name,
      { kind: view.kind, startTime: view.startTimeMs, attributes: view.attributes as Record<string, never> },
      parentCtx,
    );
    if (view.status.code !== 0) span.setStatus({ code: view.status.code, message: view.status.message });
    for (const e of view.events) span.addEvent(e.name, e.attributes as Record<string, never>, e.timeMs);
    live.push({ view, span, depth });
    const ctx = trace.setSpan(parentCtx, span);
    for (const child of (byParent.get(view.spanId) ?? []).sort((a, b) => a.startTimeMs - b.startTimeMs)) {
      start(child, ctx, depth + 1);
    }
  };
  for (const root of (byParent.get(undefined) ?? []).sort((a, b) => a.startTimeMs - b.startTimeMs)) {
    start(root, context.active() ?? ROOT_CONTEXT, 0);
  }
  live
    .sort((a, b) => a.view.endTimeMs - b.view.endTimeMs || b.depth - a.depth)
    .forEach(({ view, span }) => span.end(view.endTimeMs));
  return provider;
}
