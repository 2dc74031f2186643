import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import protobuf from 'protobufjs/light.js';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { unlinkedView } from '../helpers/span.js';
import { spansFromOtlpJson } from '../../src/span/from-otlp-json.js';
import { decodeTraceRequest, encodeTraceResponse } from '../../src/span/otlp-proto.js';
import { ExportTraceServiceRequest, ExportTraceServiceResponse } from '../../src/span/otlp-proto-schema.js';
import { SpanKind, StatusCode, type SpanView } from '../../src/span/span-view.js';
import { recordRealSpans } from './real-spans.js';

const sortById = (spans: SpanView[]): SpanView[] =>
  [...spans].sort((a, b) => a.spanId.localeCompare(b.spanId));

/** A request built with our schema (for shapes the SDK serializer never writes). */
const encode = (request: Record<string, unknown>): Uint8Array =>
  ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject(request)).finish();
const TRACE = Buffer.from('0af7651916cd43dd8448eb211c80319c', 'hex');
const SPAN = Buffer.from('b7ad6b7169203331', 'hex');
const pbSpan = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  traceId: TRACE,
  spanId: SPAN,
  name: 'chat',
  kind: 3,
  startTimeUnixNano: '1751328000123456789',
  endTimeUnixNano: '1751328001000000000',
  ...over,
});
const oneSpanRequest = (span: Record<string, unknown>): Uint8Array =>
  encode({ resourceSpans: [{ scopeSpans: [{ scope: { name: 'lib' }, spans: [span] }] }] });

describe('decodeTraceRequest: real ProtobufTraceSerializer output', () => {
  it('equals the JSON path and fromReadableSpan for every span', async () => {
    const sdkSpans = await recordRealSpans();
    const buf = ProtobufTraceSerializer.serializeRequest(sdkSpans)!;
    const proto = decodeTraceRequest(buf);
    expect(proto.errors).toEqual([]);
    expect(proto.spans).toHaveLength(sdkSpans.length);

    const json = spansFromOtlpJson(
      JSON.parse(new TextDecoder().decode(JsonTraceSerializer.serializeRequest(sdkSpans))),
    );
    expect(json.errors).toEqual([]);
    expect(sortById(proto.spans)).toEqual(sortById(json.spans));
    expect(sortById(proto.spans)).toEqual(sortById(sdkSpans.map(unlinkedView)));
  });

  it('decodes kinds, parents, events and error status', async () => {
    const sdkSpans = await recordRealSpans();
    const { spans } = decodeTraceRequest(ProtobufTraceSerializer.serializeRequest(sdkSpans)!);
    const llm = spans.find((s) => s.name === 'chat gpt-4o-mini' && s.resource['service.name'] === 'worker')!;
    const root = spans.find((s) => s.spanId === llm.parentSpanId)!;
    expect(root.name).toBe('POST /chat');
    expect(root.parentSpanId).toBeUndefined();
    expect(root.kind).toBe(SpanKind.SERVER);
    expect(llm.kind).toBe(SpanKind.CLIENT);
    expect(llm.status).toEqual({ code: StatusCode.ERROR, message: 'rate limited' });
    expect(llm.attributes['gen_ai.usage.input_tokens']).toBe(1235);
    expect(llm.attributes['gen_ai.request.temperature']).toBe(0.7);
    expect(llm.attributes['app.flags']).toEqual([true, false]);
    expect(llm.scope).toEqual({ name: '@opentelemetry/instrumentation-openai', version: '0.21.0' });
    expect(llm.events.map((e) => e.name)).toEqual(['gen_ai.user.message', 'gen_ai.choice', 'no-attributes']);
    expect(spans.filter((s) => s.kind === SpanKind.PRODUCER)).toHaveLength(2);
    expect(spans.filter((s) => s.kind === SpanKind.CONSUMER)).toHaveLength(2);
  });

  it('accepts a plain Uint8Array that is a view into a larger buffer', async () => {
    const sdkSpans = await recordRealSpans();
    const buf = ProtobufTraceSerializer.serializeRequest(sdkSpans)!;
    const big = new Uint8Array(buf.length + 10);
    big.set(buf, 5);
    const view = new Uint8Array(big.buffer, 5, buf.length);
    expect(decodeTraceRequest(view)).toEqual(decodeTraceRequest(buf));
  });
});

describe('decodeTraceRequest: shapes and values', () => {
  it('decodes every AnyValue kind, int64 beyond 2^53 and negative ints', () => {
    const kv = (key: string, value: Record<string, unknown>): Record<string, unknown> => ({ key, value });
    const buf = oneSpanRequest(
      pbSpan({
        attributes: [
          kv('s', { stringValue: 'x' }),
          kv('i', { intValue: 42 }),
          kv('neg', { intValue: -7 }),
          kv('big', { intValue: '9223372036854775807' }),
          kv('bigneg', { intValue: '-9223372036854775808' }),
          kv('d', { doubleValue: 0.25 }),
          kv('b', { boolValue: false }),
          kv('arr', { arrayValue: { values: [{ stringValue: 'a' }, { intValue: 2 }, {}] } }),
          kv('kv', {
            kvlistValue: { values: [kv('k', { boolValue: true }), kv('n', { kvlistValue: { values: [] } })] },
          }),
          kv('bytes', { bytesValue: Buffer.from([1, 2, 255]) }),
          kv('empty', {}),
          { key: 'novalue' },
        ],
      }),
    );
    const { spans, errors } = decodeTraceRequest(buf);
    expect(errors).toEqual([]);
    const a = spans[0]!.attributes;
    expect(a).toEqual({
      s: 'x',
      i: 42,
      neg: -7,
      big: '9223372036854775807',
      bigneg: '-9223372036854775808',
      d: 0.25,
      b: false,
      arr: ['a', 2, null],
      kv: { k: true, n: {} },
      bytes: new Uint8Array([1, 2, 255]),
      empty: null,
      novalue: null,
    });
    expect(a['bytes']).toBeInstanceOf(Uint8Array);
  });

  it('reads fixed64 nanoseconds exactly', () => {
    const { spans } = decodeTraceRequest(oneSpanRequest(pbSpan()));
    expect(spans[0]!.startTimeMs).toBe(1751328000 * 1000 + 123456789 / 1e6);
    expect(spans[0]!.endTimeMs).toBe(1751328001000);
  });

  it('accepts the legacy instrumentation_library_spans (field 1000)', () => {
    const buf = encode({
      resourceSpans: [
        {
          instrumentationLibrarySpans: [
            { instrumentationLibrary: { name: 'old', version: '0.1' }, spans: [pbSpan()] },
          ],
        },
      ],
    });
    const { spans, errors } = decodeTraceRequest(buf);
    expect(errors).toEqual([]);
    expect(spans[0]!.scope).toEqual({ name: 'old', version: '0.1' });
  });

  it('treats an all-zero parent as root and maps unknown kinds to INTERNAL', () => {
    const { spans } = decodeTraceRequest(oneSpanRequest(pbSpan({ parentSpanId: Buffer.alloc(8), kind: 9 })));
    expect(spans[0]!.parentSpanId).toBeUndefined();
    expect(spans[0]!.kind).toBe(SpanKind.INTERNAL);
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['a short traceId', { traceId: Buffer.alloc(3, 1) }, /invalid traceId \(3 bytes/],
    ['a missing spanId', { spanId: undefined }, /invalid spanId \(0 bytes/],
    ['an all-zero traceId', { traceId: Buffer.alloc(16) }, /traceId \(all zero\)/],
    ['a 4-byte parent', { parentSpanId: Buffer.alloc(4, 1) }, /parentSpanId/],
    ['no start time', { startTimeUnixNano: 0 }, /startTimeUnixNano/],
  ])('skips a span with %s and names it', (_label, over, message) => {
    const buf = encode({
      resourceSpans: [{ scopeSpans: [{ spans: [pbSpan({ spanId: Buffer.alloc(8, 7) }), pbSpan(over)] }] }],
    });
    const { spans, errors } = decodeTraceRequest(buf);
    expect(spans.map((s) => s.spanId)).toEqual(['0707070707070707']);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[1\]: /);
    expect(errors[0]).toMatch(message);
  });

  it('decodes an empty buffer as an empty request', () => {
    expect(decodeTraceRequest(new Uint8Array(0))).toEqual({ spans: [], errors: [] });
  });
});

describe('decodeTraceRequest: garbage', () => {
  it('reports a truncated buffer without throwing', async () => {
    const buf = ProtobufTraceSerializer.serializeRequest(await recordRealSpans())!;
    for (const cut of [1, 7, Math.floor(buf.length / 2), buf.length - 1]) {
      const r = decodeTraceRequest(buf.subarray(0, cut));
      expect(r.errors.length).toBeGreaterThan(0);
      expect(r.errors[0]).toMatch(/^invalid OTLP\/protobuf ExportTraceServiceRequest: /);
    }
  });

  it('reports fixed random byte strings', () => {
    let seed = 12345;
    const next = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed >>> 24;
    };
    for (let n = 0; n < 50; n++) {
      const bytes = Uint8Array.from({ length: 64 + n * 7 }, next);
      bytes[0] = 0x0a; // field 1, length-delimited: looks like resource_spans, then noise
      const r = decodeTraceRequest(bytes);
      expect(r.errors.length).toBeGreaterThan(0);
    }
  });

  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        const r = decodeTraceRequest(bytes);
        expect(Array.isArray(r.spans) && Array.isArray(r.errors)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('decodes nested values within the decoder depth limit', () => {
    let value: Record<string, unknown> = { stringValue: 'leaf' };
    for (let i = 0; i < 30; i++) value = { arrayValue: { values: [value] } };
    const r = decodeTraceRequest(oneSpanRequest(pbSpan({ attributes: [{ key: 'deep', value }] })));
    expect(r.errors).toEqual([]);
    let v: unknown = r.spans[0]!.attributes['deep'];
    for (let i = 0; i < 30; i++) v = (v as unknown[])[0];
    expect(v).toBe('leaf');
  });

  it('reports a hostile, too deeply nested value without throwing', () => {
    const msg = (build: (w: protobuf.Writer) => void): Uint8Array => {
      const w = protobuf.Writer.create();
      build(w);
      return w.finish();
    };
    let any = msg((w) => w.uint32(0x0a).string('leaf')); // AnyValue.string_value
    for (let i = 0; i < 5000; i++) {
      const inner = any;
      const array = msg((w) => w.uint32(0x0a).bytes(inner)); // ArrayValue.values
      any = msg((w) => w.uint32(0x2a).bytes(array)); // AnyValue.array_value
    }
    const kv = msg((w) => w.uint32(0x0a).string('deep').uint32(0x12).bytes(any));
    const span = msg((w) =>
      w.uint32(0x0a).bytes(TRACE).uint32(0x12).bytes(SPAN).uint32(0x39).fixed64(1).uint32(0x4a).bytes(kv),
    );
    const scopeSpans = msg((w) => w.uint32(0x12).bytes(span));
    const resourceSpans = msg((w) => w.uint32(0x12).bytes(scopeSpans));
    const request = msg((w) => w.uint32(0x0a).bytes(resourceSpans));
    const r = decodeTraceRequest(request);
    expect(r.spans).toEqual([]);
    expect(r.errors).toEqual([
      expect.stringMatching(/^invalid OTLP\/protobuf ExportTraceServiceRequest: .*depth/),
    ]);
  });
});

describe('encodeTraceResponse', () => {
  it('encodes full success as an empty response', () => {
    const bytes = encodeTraceResponse();
    expect(bytes.length).toBe(0);
    const decoded = ExportTraceServiceResponse.toObject(ExportTraceServiceResponse.decode(bytes));
    expect(decoded['partialSuccess']).toBeUndefined();
  });

  it('encodes partial_success that decodes back', () => {
    const bytes = encodeTraceResponse({ rejectedSpans: 3, errorMessage: '3 spans had no trace id' });
    const decoded = ExportTraceServiceResponse.toObject(ExportTraceServiceResponse.decode(bytes), {
      longs: Number,
    });
    expect(decoded).toEqual({
      partialSuccess: { rejectedSpans: 3, errorMessage: '3 spans had no trace id' },
    });
  });

  it('is understood by the real OTel exporter response deserializer', () => {
    const bytes = encodeTraceResponse({ rejectedSpans: 2, errorMessage: 'bad' });
    const r = ProtobufTraceSerializer.deserializeResponse(bytes);
    expect(r.partialSuccess?.errorMessage).toBe('bad');
    expect(Number(r.partialSuccess?.rejectedSpans)).toBe(2);
  });
});
