import { describe, expect, it } from 'vitest';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { fromReadableSpan, SDK_SPAN } from '../../src/span/from-readable-span.js';
import { SpanKind, StatusCode } from '../../src/span/span-view.js';
import { recordRealSpans } from './real-spans.js';

const byName = (spans: ReadableSpan[], name: string, service: string): ReadableSpan => {
  const s = spans.find((x) => x.name === name && x.resource.attributes['service.name'] === service);
  if (s === undefined) throw new Error(`no span ${name}`);
  return s;
};

describe('fromReadableSpan', () => {
  it('links the view to its SDK span where no listing, JSON or structured clone sees it', async () => {
    const sdk = byName(await recordRealSpans(), 'chat gpt-4o-mini', 'chat-api');
    const view = fromReadableSpan(sdk);
    expect(view[SDK_SPAN]).toBe(sdk);
    expect(Object.keys(view)).not.toContain(String(SDK_SPAN));
    const json = JSON.parse(JSON.stringify(view)) as Record<string, unknown>;
    expect(Object.keys(json).sort()).toEqual(
      Object.keys(view)
        .filter((k) => view[k as keyof typeof view] !== undefined)
        .sort(),
    );
    expect(Object.getOwnPropertySymbols(structuredClone(view))).toEqual([]);
  });

  it('maps ids, parent/child, kind, times, resource and scope of real SDK spans', async () => {
    const spans = await recordRealSpans();
    const root = fromReadableSpan(byName(spans, 'POST /chat', 'chat-api'));
    const llmSpan = byName(spans, 'chat gpt-4o-mini', 'chat-api');
    const llm = fromReadableSpan(llmSpan);
    const tool = fromReadableSpan(byName(spans, 'tool lookup', 'chat-api'));

    expect(root.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(root.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(root.parentSpanId).toBeUndefined();
    expect(root.kind).toBe(SpanKind.SERVER);
    expect(llm.traceId).toBe(root.traceId);
    expect(llm.parentSpanId).toBe(root.spanId);
    expect(tool.parentSpanId).toBe(llm.spanId);
    expect(llm.kind).toBe(SpanKind.CLIENT);
    expect(tool.kind).toBe(SpanKind.INTERNAL);
    expect(fromReadableSpan(byName(spans, 'kind 3', 'chat-api')).kind).toBe(SpanKind.PRODUCER);
    expect(fromReadableSpan(byName(spans, 'kind 4', 'chat-api')).kind).toBe(SpanKind.CONSUMER);

    const [sec, nanos] = llmSpan.startTime;
    expect(llm.startTimeMs).toBeCloseTo(sec * 1000 + nanos / 1e6, 6);
    expect(Math.abs(llm.startTimeMs - Date.now())).toBeLessThan(60_000);
    expect(llm.endTimeMs).toBeGreaterThanOrEqual(llm.startTimeMs);

    expect(llm.resource['service.name']).toBe('chat-api');
    expect(llm.resource['host.cpu.count']).toBe(8);
    expect(llm.scope).toMatchObject({ name: '@opentelemetry/instrumentation-openai', version: '0.21.0' });
    expect(root.scope).toMatchObject({ name: 'app', version: '1.4.2' });
    expect(llm.attributes['gen_ai.usage.input_tokens']).toBe(1234);
    expect(llm.attributes['gen_ai.response.finish_reasons']).toEqual(['stop', 'length']);
    expect(llm.status.code).toBe(StatusCode.UNSET);
    expect(tool.status.code).toBe(StatusCode.OK);
  });

  it('maps events with their times and attributes', async () => {
    const spans = await recordRealSpans();
    const sdk = byName(spans, 'chat gpt-4o-mini', 'chat-api');
    const llm = fromReadableSpan(sdk);
    expect(llm.events.map((e) => e.name)).toEqual(['gen_ai.user.message', 'gen_ai.choice', 'no-attributes']);
    expect(llm.events[0]!.attributes).toEqual({ 'gen_ai.system': 'openai', content: 'hi' });
    expect(llm.events[2]!.attributes).toEqual({});
    const t = sdk.events[1]!.time;
    expect(llm.events[1]!.timeMs).toBe(t[0] * 1000 + t[1] / 1e6);
    expect(fromReadableSpan(byName(spans, 'tool lookup', 'chat-api')).events).toEqual([]);
  });

  it('maps an error status with its message', async () => {
    const spans = await recordRealSpans();
    const llm = fromReadableSpan(byName(spans, 'chat gpt-4o-mini', 'worker'));
    expect(llm.status).toEqual({ code: StatusCode.ERROR, message: 'rate limited' });
    expect(llm.resource).toEqual({ 'service.name': 'worker', 'service.version': '2.1.0' });
  });

  it('references the attribute objects instead of copying them', async () => {
    const spans = await recordRealSpans();
    const sdk = byName(spans, 'chat gpt-4o-mini', 'chat-api');
    const view = fromReadableSpan(sdk);
    expect(view.attributes).toBe(sdk.attributes);
    expect(view.resource).toBe(sdk.resource.attributes);
    expect(view.events[0]!.attributes).toBe(sdk.events[0]!.attributes);
  });

  it('tolerates a span without resource, scope, status or events', async () => {
    const [real] = await recordRealSpans();
    const odd = {
      name: 'odd',
      kind: undefined,
      spanContext: () => real!.spanContext(),
      parentSpanContext: { traceId: real!.spanContext().traceId, spanId: '', traceFlags: 1 },
      startTime: [1_700_000_000, 500_000_000],
      endTime: [1_700_000_001, 0],
      attributes: {},
    } as unknown as ReadableSpan;
    const view = fromReadableSpan(odd);
    expect(view).toMatchObject({
      name: 'odd',
      kind: SpanKind.INTERNAL,
      parentSpanId: undefined,
      startTimeMs: 1_700_000_000_500,
      endTimeMs: 1_700_000_001_000,
      status: { code: StatusCode.UNSET },
      resource: {},
      scope: { name: '' },
      events: [],
    });
  });
});
