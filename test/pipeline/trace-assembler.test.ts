import { ROOT_CONTEXT, SpanKind, trace, TraceFlags } from '@opentelemetry/api';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import type { ResolveCause } from '../../src/pipeline/trace-assembler.js';
import { TraceAssembler } from '../../src/pipeline/trace-assembler.js';
import { spansFromOtlpJson } from '../../src/span/from-otlp-json.js';
import { fromReadableSpan } from '../../src/span/from-readable-span.js';
import { decodeTraceRequest } from '../../src/span/otlp-proto.js';
import type { SpanView } from '../../src/span/span-view.js';
import { makeSpan } from '../helpers/span.js';

const llm = { 'gen_ai.operation.name': 'chat', 'gen_ai.system': 'openai', 'gen_ai.request.model': 'gpt-4o' };

function setup(over: Partial<{ waitMillis: number; maxTraces: number; maxSpansPerTrace: number }> = {}) {
  let now = 1000;
  const out: Array<{ spans: SpanView[]; cause: ResolveCause }> = [];
  const a = new TraceAssembler({
    waitMillis: 100,
    maxTraces: 10,
    maxSpansPerTrace: 50,
    ...over,
    now: () => now,
    onResolved: (spans, cause) => out.push({ spans, cause }),
  });
  return { a, out, advance: (ms: number) => (now += ms) };
}

describe('TraceAssembler', () => {
  it('holds a GenAI span until its root arrives, with the ancestors between', () => {
    const { a, out } = setup();
    const T = 'c'.repeat(32);
    const root = makeSpan({ 'user.id': 'u' }, { traceId: T });
    const mid = makeSpan({}, { traceId: T, parentSpanId: root.spanId });
    const call = makeSpan(llm, { traceId: T, parentSpanId: mid.spanId });
    a.add([call]);
    a.add([mid]);
    expect(out).toHaveLength(0);
    expect(a.stats().pendingSpans).toBe(2);
    a.add([root]);
    expect(out).toEqual([{ spans: [call, mid, root], cause: 'root' }]);
    expect(a.stats()).toMatchObject({ pendingTraces: 0, pendingSpans: 0 });
  });

  it('keeps nothing of traces without GenAI spans', () => {
    const { a, out } = setup();
    a.add([makeSpan({}, { traceId: 'd'.repeat(32), parentSpanId: 'e'.repeat(16) })]);
    expect(a.stats().pendingTraces).toBe(0);
    expect(out).toHaveLength(0);
  });

  it('resolves on timeout when the root never comes (e.g. a remote parent)', () => {
    const { a, out, advance } = setup();
    a.add([makeSpan(llm, { traceId: 'f'.repeat(32), parentSpanId: '9'.repeat(16) })]);
    advance(99);
    a.expire();
    expect(out).toHaveLength(0);
    advance(1);
    a.expire();
    expect(out.map((o) => o.cause)).toEqual(['timeout']);
  });

  it('bounds traces and spans per trace, resolving early', () => {
    const { a, out } = setup({ maxTraces: 2, maxSpansPerTrace: 3 });
    for (let i = 1; i <= 3; i++)
      a.add([makeSpan(llm, { traceId: String(i).repeat(32), parentSpanId: 'a'.repeat(16) })]);
    expect(out.map((o) => o.cause)).toEqual(['overflow']);
    expect(out[0]!.spans[0]!.traceId).toBe('1'.repeat(32));
    const T = '2'.repeat(32);
    a.add([
      makeSpan({}, { traceId: T, parentSpanId: 'a'.repeat(16) }),
      makeSpan({}, { traceId: T, parentSpanId: 'a'.repeat(16) }),
    ]);
    expect(out.map((o) => o.cause)).toEqual(['overflow', 'overflow']);
    expect(a.stats().resolved.overflow).toBe(2);
  });

  it('flush resolves everything', () => {
    const { a, out } = setup();
    a.add([makeSpan(llm, { traceId: '4'.repeat(32), parentSpanId: 'a'.repeat(16) })]);
    a.flush();
    expect(out.map((o) => o.cause)).toEqual(['flush']);
    expect(a.nextDeadline()).toBeUndefined();
  });
});

describe('TraceAssembler: GenAI spans that end after their root', () => {
  it('get the recently seen root, after a short wait for the spans wrapping them', () => {
    const { a, out, advance } = setup({ waitMillis: 10_000 });
    const T = '5'.repeat(32);
    const root = makeSpan({ 'fenra.billable_customer_id': 'acme' }, { traceId: T });
    const inner = makeSpan(llm, { traceId: T, parentSpanId: 'b'.repeat(16) });
    const outer = makeSpan(llm, { traceId: T, spanId: 'b'.repeat(16), parentSpanId: root.spanId });
    a.add([root]);
    a.add([inner]);
    a.add([outer]);
    expect(out).toHaveLength(0);
    advance(1_000);
    a.expire();
    expect(out).toEqual([{ spans: [root, inner, outer], cause: 'timeout' }]);
  });

  it('a straggler behind a long-waiting trace still expires on time', () => {
    const { a, out, advance } = setup({ waitMillis: 10_000 });
    a.add([makeSpan(llm, { traceId: '6'.repeat(32), parentSpanId: 'a'.repeat(16) })]);
    const T = '7'.repeat(32);
    a.add([makeSpan({}, { traceId: T })]);
    a.add([makeSpan(llm, { traceId: T, parentSpanId: 'c'.repeat(16) })]);
    expect(a.nextDeadline()).toBe(1000 + 1_000);
    advance(1_000);
    a.expire();
    expect(out.map((o) => o.spans[0]!.traceId)).toEqual([T]);
  });
});

describe('TraceAssembler: remembered roots are bounded', () => {
  it('keeps the most recent maxTraces roots', () => {
    const { a, out, advance } = setup({ maxTraces: 2, waitMillis: 5_000 });
    const roots = ['1', '2', '3'].map((c) => makeSpan({ 'user.id': c }, { traceId: c.repeat(32) }));
    a.add(roots);
    // trace 1's root was evicted; traces 2 and 3 still find theirs.
    for (const r of roots) a.add([makeSpan(llm, { traceId: r.traceId, parentSpanId: 'a'.repeat(16) })]);
    advance(5_000);
    a.expire();
    const withRoot = out.map((o) => o.spans.some((s) => s.parentSpanId === undefined));
    expect(out.map((o) => o.spans.at(-1)!.traceId[0])).toEqual(['1', '2', '3']);
    expect(withRoot).toEqual([false, true, true]);
  });
});

describe('TraceAssembler: a span whose parent is remote is the local root', () => {
  it('resolves the trace when it arrives, without waiting', () => {
    const { a, out } = setup();
    const T = 'd'.repeat(32);
    const root = {
      ...makeSpan({ 'user.id': 'u' }, { traceId: T, parentSpanId: 'e'.repeat(16) }),
      parentIsRemote: true,
    };
    const call = makeSpan(llm, { traceId: T, parentSpanId: root.spanId });
    a.add([call]);
    expect(out).toHaveLength(0);
    a.add([root]);
    expect(out).toEqual([{ spans: [call, root], cause: 'root' }]);
  });

  it('an LLM span with a remote parent resolves at once', () => {
    const { a, out } = setup();
    const call = { ...makeSpan(llm, { parentSpanId: 'e'.repeat(16) }), parentIsRemote: true };
    a.add([call]);
    expect(out).toEqual([{ spans: [call], cause: 'root' }]);
  });

  it('a parent that is not known to be remote still waits', () => {
    const { a, out, advance } = setup();
    a.add([{ ...makeSpan(llm, { parentSpanId: 'e'.repeat(16) }), parentIsRemote: false }]);
    expect(out).toHaveLength(0);
    advance(100);
    a.expire();
    expect(out.map((o) => o.cause)).toEqual(['timeout']);
  });

  describe('from every source: an SDK span, and the OTLP JSON and protobuf the real OTel exporters send', () => {
    const remote = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      traceFlags: TraceFlags.SAMPLED,
      isRemote: true,
    });
    const ended = (): ReadableSpan[] => {
      const exporter = new InMemorySpanExporter();
      const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
      const tracer = provider.getTracer('app');
      const root = tracer.startSpan('POST /chat', { kind: SpanKind.SERVER }, remote);
      tracer.startSpan('chat', { attributes: llm }, trace.setSpan(remote, root)).end();
      root.end();
      return exporter.getFinishedSpans();
    };
    const views: Record<string, () => SpanView[]> = {
      ReadableSpan: () => ended().map(fromReadableSpan),
      'OTLP/JSON': () =>
        spansFromOtlpJson(JSON.parse(new TextDecoder().decode(JsonTraceSerializer.serializeRequest(ended()))))
          .spans,
      'OTLP/protobuf': () => decodeTraceRequest(ProtobufTraceSerializer.serializeRequest(ended())!).spans,
    };

    it.each(Object.keys(views))('%s', (source) => {
      const spans = views[source]!();
      const [call, root] = spans;
      expect(call).toMatchObject({ parentSpanId: root!.spanId });
      expect(call!.parentIsRemote).toBeFalsy();
      expect(root).toMatchObject({ parentSpanId: '00f067aa0ba902b7', parentIsRemote: true });
      const { a, out } = setup();
      a.add(spans);
      expect(out.map((o) => o.cause)).toEqual(['root']);
    });

    it('OTLP flags: only both bits (0x100 known, 0x200 remote) mean remote', () => {
      const span = (flags: unknown) =>
        spansFromOtlpJson({
          resourceSpans: [
            {
              scopeSpans: [
                {
                  spans: [
                    {
                      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
                      spanId: 'b7ad6b7169203331',
                      parentSpanId: '00f067aa0ba902b7',
                      startTimeUnixNano: '1700000000000000000',
                      flags,
                    },
                  ],
                },
              ],
            },
          ],
        }).spans[0]!.parentIsRemote === true;
      expect([0x301, 0x300, '769', 0x201, 0x101, 0x100, 1, undefined, 'x'].map(span)).toEqual([
        true,
        true,
        true,
        false,
        false,
        false,
        false,
        false,
        false,
      ]);
    });
  });
});
