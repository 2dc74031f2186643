import { ROOT_CONTEXT, SpanKind, trace, TraceFlags } from '@opentelemetry/api';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import type { HeldTrace, ResolveCause } from '../../src/stage/trace-holder.js';
import { TraceHolder } from '../../src/stage/trace-holder.js';
import { spansFromOtlpJson } from '../../src/span/from-otlp-json.js';
import { fromReadableSpan } from '../../src/span/from-readable-span.js';
import { decodeTraceRequest } from '../../src/span/otlp-proto.js';
import type { SpanView } from '../../src/span/span-view.js';
import { makeSpan } from '../helpers/span.js';

const llm = { 'gen_ai.operation.name': 'chat', 'gen_ai.system': 'openai', 'gen_ai.request.model': 'gpt-4o' };

/** A holder on a manual clock; `add` hands spans over as one delivery, remembering roots like the stage. */
function setup(over: Partial<{ waitMillis: number; maxTraces: number; maxSpansPerTrace: number }> = {}) {
  let now = 1000;
  const out: Array<{ spans: SpanView[]; cause: ResolveCause }> = [];
  const roots = new Map<string, SpanView>();
  const notHeld: SpanView[] = [];
  const holder = new TraceHolder<never>(
    {
      waitMillis: 100,
      settleMillis: 1_000,
      maxTraces: 10,
      maxSpansPerTrace: 50,
      maxHeldSpans: 1_000,
      ...over,
    },
    () => now,
    (t: HeldTrace<never>, cause) => {
      out.push({ spans: [...t.context, ...t.spans], cause });
      for (const s of t.spans) if (s.parentSpanId === undefined || s.parentIsRemote) roots.set(s.traceId, s);
    },
    (s) => {
      notHeld.push(s);
      if (s.parentSpanId === undefined || s.parentIsRemote) roots.set(s.traceId, s);
    },
  );
  const a = {
    add: (spans: SpanView[]) => holder.add(spans, [], undefined, (s) => roots.get(s.traceId)),
    expire: () => holder.expire(),
    flush: () => holder.flush(),
    nextDeadline: () => holder.nextDeadline(),
    held: () => ({ traces: holder.heldTraces, spans: holder.heldSpans }),
  };
  return { a, out, notHeld, advance: (ms: number) => (now += ms) };
}

describe('TraceHolder', () => {
  it('holds a GenAI span until its root arrives, with the ancestors between', () => {
    const { a, out } = setup();
    const T = 'c'.repeat(32);
    const root = makeSpan({ 'user.id': 'u' }, { traceId: T });
    const mid = makeSpan({}, { traceId: T, parentSpanId: root.spanId });
    const call = makeSpan(llm, { traceId: T, parentSpanId: mid.spanId });
    a.add([call]);
    a.add([mid]);
    expect(out).toHaveLength(0);
    expect(a.held()).toEqual({ traces: 1, spans: 2 });
    a.add([root]);
    expect(out).toEqual([{ spans: [call, mid, root], cause: 'root' }]);
    expect(a.held()).toEqual({ traces: 0, spans: 0 });
  });

  it('lets go of the spans of a resolved trace once its owner has read them', () => {
    const T = '7'.repeat(32);
    const root = makeSpan({}, { traceId: T });
    const call = makeSpan(llm, { traceId: T, parentSpanId: root.spanId });
    const seen: Array<{ spans: number; context: number; trace: HeldTrace<never> }> = [];
    const holder = new TraceHolder<never>(
      { waitMillis: 100, settleMillis: 100, maxTraces: 10, maxSpansPerTrace: 50, maxHeldSpans: 1_000 },
      () => 0,
      (t) => seen.push({ spans: t.spans.length, context: t.context.length, trace: t }),
      () => undefined,
    );
    // The root arrived before (a straggler's context), then the call, then the root again.
    holder.add([call], [], undefined, () => root);
    expect(seen).toHaveLength(0);
    holder.add([root], [], undefined, () => root);
    expect(seen.map(({ spans, context }) => ({ spans, context }))).toEqual([{ spans: 2, context: 1 }]);
    expect(seen[0]!.trace.spans).toEqual([]);
    expect(seen[0]!.trace.context).toEqual([]);
    expect(holder.heldSpans).toBe(0);
  });

  it('holds nothing of traces without GenAI spans (hands them back to be remembered)', () => {
    const { a, out, notHeld } = setup();
    const span = makeSpan({}, { traceId: 'd'.repeat(32), parentSpanId: 'e'.repeat(16) });
    a.add([span]);
    expect(a.held().traces).toBe(0);
    expect(out).toHaveLength(0);
    expect(notHeld).toEqual([span]);
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
  });

  it('flush resolves everything', () => {
    const { a, out } = setup();
    a.add([makeSpan(llm, { traceId: '4'.repeat(32), parentSpanId: 'a'.repeat(16) })]);
    a.flush();
    expect(out.map((o) => o.cause)).toEqual(['flush']);
    expect(a.nextDeadline()).toBeUndefined();
  });
});

describe('TraceHolder: GenAI spans that end after their root', () => {
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

  it('asks for a known root only for traces still held at the end of the delivery', () => {
    const asked: string[] = [];
    const T1 = '1'.repeat(32);
    const T2 = '2'.repeat(32);
    const root1 = makeSpan({}, { traceId: T1 });
    const call1 = makeSpan(llm, { traceId: T1, parentSpanId: root1.spanId });
    const call2 = makeSpan(llm, { traceId: T2, parentSpanId: 'a'.repeat(16) });
    const out: string[] = [];
    const holder = new TraceHolder<never>(
      { waitMillis: 100, settleMillis: 10, maxTraces: 10, maxSpansPerTrace: 50, maxHeldSpans: 1_000 },
      () => 0,
      (t, cause) => out.push(`${t.traceId.slice(0, 1)}:${cause}`),
      () => undefined,
    );
    // The call's root comes after it in the same delivery: no lookup; the other trace waits.
    holder.add([call1, call2, root1], [], undefined, (s) => {
      asked.push(s.spanId);
      return undefined;
    });
    expect(out).toEqual(['1:root']);
    expect(asked).toEqual([call2.spanId]);
    expect(holder.nextDeadline()).toBe(100);
  });

  it('a delivery that throws leaves its traces waiting, and nothing of it to the next one', () => {
    const T1 = '3'.repeat(32);
    const T2 = '4'.repeat(32);
    const call1 = makeSpan(llm, { traceId: T1, parentSpanId: 'a'.repeat(16) });
    const call2 = makeSpan(llm, { traceId: T2, parentSpanId: 'a'.repeat(16) });
    let now = 0;
    const out: string[] = [];
    const holder = new TraceHolder<never>(
      { waitMillis: 100, settleMillis: 10, maxTraces: 10, maxSpansPerTrace: 50, maxHeldSpans: 1_000 },
      () => now,
      (t, cause) => out.push(`${t.traceId.slice(0, 1)}:${cause}`),
      () => undefined,
    );
    expect(() =>
      holder.add([call1], [], undefined, () => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    const asked: string[] = [];
    holder.add([call2], [], undefined, (s) => {
      asked.push(s.spanId);
      return undefined;
    });
    expect(asked).toEqual([call2.spanId]);
    now = 100;
    holder.expire();
    expect(out).toEqual(['3:timeout', '4:timeout']);
  });

  it('a root known from before makes a straggler, whatever else the delivery brings', () => {
    const { a, out, advance } = setup({ waitMillis: 10_000 });
    const T = '8'.repeat(32);
    const root = makeSpan({ 'fenra.billable_customer_id': 'acme' }, { traceId: T });
    const mid = makeSpan({}, { traceId: T, parentSpanId: root.spanId });
    const call = makeSpan(llm, { traceId: T, parentSpanId: mid.spanId });
    a.add([root]);
    a.add([call, mid]);
    expect(a.nextDeadline()).toBe(1000 + 1_000);
    advance(1_000);
    a.expire();
    // The root first, as context, then the spans in arrival order.
    expect(out).toEqual([{ spans: [root, call, mid], cause: 'timeout' }]);
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

describe('TraceHolder: a span whose parent is remote is the local root', () => {
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
