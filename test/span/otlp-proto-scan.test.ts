import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import protobuf from 'protobufjs/light.js';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { billingAttributeFilter } from '../../src/genai/billing-keys.js';
import type { AttributeFilter } from '../../src/span/attribute-filter.js';
import { keepScalar } from '../../src/genai/billing-keys.js';
import { decodeTraceRequest, decodeTraceRequestWhole } from '../../src/span/otlp-proto.js';
import { readableSpans, recordedFixtures } from '../sidecar/otlp-replay.js';
import { otlpJsonRequest, toProtobuf } from '../privacy/fuzz-requests.js';

/**
 * The wire-level scanner (decodeTraceRequest with a filter) against the whole protobufjs decode
 * followed by the same filter (decodeTraceRequestWhole): the same SpanViews, and on malformed
 * input an error instead of an exception.
 */
const filters: [string, AttributeFilter][] = [
  ['defaults', billingAttributeFilter()],
  [
    'custom customer keys and an allow-list',
    billingAttributeFilter({
      customerIdKeys: ['app.tenant', 'user.id'],
      contextKeys: ['http.route', 'gen_ai.request.temperature', 'app.plan'],
    }),
  ],
];

const same = (buf: Uint8Array, filter: AttributeFilter): void => {
  const scanned = decodeTraceRequest(buf, filter);
  expect(scanned).toStrictEqual(decodeTraceRequestWhole(buf, filter));
};

describe('OTLP/protobuf scanner: the same SpanViews as the whole decode', () => {
  for (const [label, filter] of filters) {
    it.each(recordedFixtures().map((f) => [f.name, f.json] as const))(`${label}: %s`, (_name, json) => {
      const proto = ProtobufTraceSerializer.serializeRequest(
        readableSpans(json as Parameters<typeof readableSpans>[0]),
      )!;
      const scanned = decodeTraceRequest(proto, filter);
      expect(scanned.spans.length).toBeGreaterThan(0);
      expect(scanned).toStrictEqual(decodeTraceRequestWhole(proto, filter));
    });
  }

  it('on random requests (odd values, errors, secrets)', () => {
    fc.assert(
      fc.property(otlpJsonRequest, (request) => same(toProtobuf(request), filters[0]![1])),
      { numRuns: 300 },
    );
  });

  it('on hand-written shapes: fields out of order, repeated fields, several oneof members', () => {
    const w = (): protobuf.Writer => protobuf.Writer.create();
    const msg = (build: (x: protobuf.Writer) => void): Uint8Array => {
      const x = w();
      build(x);
      return x.finish();
    };
    const str = (v: string): Uint8Array => msg((x) => x.uint32(0x0a).string(v));
    const kv = (key: string, value?: Uint8Array, valueFirst = false): Uint8Array =>
      msg((x) => {
        if (valueFirst && value !== undefined) x.uint32(0x12).bytes(value);
        x.uint32(0x0a).string(key);
        if (!valueFirst && value !== undefined) x.uint32(0x12).bytes(value);
      });
    const int = (n: number): Uint8Array => msg((x) => x.uint32(0x18).int64(n));
    const array = (...values: Uint8Array[]): Uint8Array =>
      msg((x) => x.uint32(0x2a).bytes(msg((y) => values.forEach((v) => y.uint32(0x0a).bytes(v)))));
    const kvlist = (...kvs: Uint8Array[]): Uint8Array =>
      msg((x) => x.uint32(0x32).bytes(msg((y) => kvs.forEach((v) => y.uint32(0x0a).bytes(v)))));
    const trace = Buffer.alloc(16, 7);
    const attributes = [
      kv('gen_ai.request.model', str('gpt-4o'), true),
      kv('gen_ai.usage.input_tokens', int(12)),
      kv(
        'gen_ai.usage.output_tokens',
        msg((x) => x.uint32(0x0a).string('7').uint32(0x18).int64(9)),
      ), // string wins
      kv('gen_ai.usage.output_tokens', int(2 ** 60)), // a later duplicate wins; beyond 2^53: digits
      kv('gen_ai.system'), // no value: null
      kv('gen_ai.prompt.0.content', str('secret')), // refused
      kv('gen_ai.response.model', array(str('a'), int(1))), // not a scalar
      kv('fenra.context.plan', kvlist(kv('x', str('y')), kv('z'))),
      kv(
        'gen_ai.request.max_tokens',
        msg((x) => x.uint32(0x21).double(1.5).uint32(0x10).bool(true)),
      ),
      kv(
        'fenra.customer.id',
        msg((x) => x.uint32(0x3a).bytes(Buffer.from([1, 2]))),
      ),
      kv('user.id', str('u1')),
      kv(
        'user.id',
        msg((x) => x.uint32(0x2a).bytes(msg(() => undefined))),
      ),
    ];
    const span = msg((x) => {
      x.uint32(0x39).fixed64(2_000_000_000); // start time first
      for (const a of attributes) x.uint32(0x4a).bytes(a);
      x.uint32(0x2a).string('chat gpt-4o'.repeat(400)); // name, over the kept length
      x.uint32(0x0a)
        .bytes(trace)
        .uint32(0x12)
        .bytes(Buffer.alloc(8, 1))
        .uint32(0x22)
        .bytes(Buffer.alloc(8, 2));
      x.uint32((16 << 3) | 5).fixed32(0x300); // flags (field 16)
      x.uint32(0x30).int32(3); // kind client
      x.uint32(0x7a).bytes(msg((y) => y.uint32(0x12).string('boom: secret').uint32(0x18).int32(2)));
      x.uint32(0x5a).bytes(msg((y) => y.uint32(0x12).string('event'))); // event
      x.uint32(0x1a).string('tracestate=x'); // trace_state: skipped
    });
    const scope = msg((x) => x.uint32(0x0a).string('scope-name').uint32(0x12).string('1.0'));
    const scopeSpans = msg((x) => x.uint32(0x12).bytes(span).uint32(0x0a).bytes(scope)); // scope after spans
    const library = msg((x) => x.uint32(0x12).bytes(span));
    const resource = msg((x) =>
      x
        .uint32(0x0a)
        .bytes(kv('service.name', str('svc')))
        .uint32(0x0a)
        .bytes(kv('host.name', str('h'))),
    );
    const resourceSpans = msg((x) =>
      x
        .uint32((1000 << 3) | 2) // field 1000 (instrumentation_library_spans), before scope_spans
        .bytes(library)
        .uint32(0x12)
        .bytes(scopeSpans)
        .uint32(0x0a)
        .bytes(resource) // resource last
        .uint32(0x1a)
        .string('schema'),
    );
    const request = msg((x) =>
      x
        .uint32(0x0a)
        .bytes(resourceSpans)
        .uint32(0x0a)
        .bytes(msg(() => undefined)),
    );
    for (const [, filter] of filters) {
      const scanned = decodeTraceRequest(request, filter);
      expect(scanned.errors).toEqual([]);
      expect(scanned.spans).toHaveLength(2);
      expect(scanned).toStrictEqual(decodeTraceRequestWhole(request, filter));
    }
    const [first] = decodeTraceRequest(request, filters[0]![1]).spans;
    expect(first!.attributes['gen_ai.usage.output_tokens']).toBe('1152921504606846976');
    expect(first!.attributes['gen_ai.prompt.0.content']).toBeUndefined();
    expect(first!.resource).toStrictEqual({ 'service.name': 'svc' });
    expect(first!.status).toStrictEqual({ code: 2 });
    expect(first!.name).toHaveLength(1024);
    expect(first!.parentIsRemote).toBe(true);
  });

  it('reads the value of a kept key only (a refused value is never decoded)', () => {
    const seen: string[] = [];
    const filter: AttributeFilter = (key) => {
      seen.push(key);
      return key === 'kept' ? (v) => (seen.push(`value:${String(v)}`), keepScalar(v)) : undefined;
    };
    const w = protobuf.Writer.create();
    const kv = (key: string, value: string): Uint8Array =>
      protobuf.Writer.create()
        .uint32(0x0a)
        .string(key)
        .uint32(0x12)
        .bytes(protobuf.Writer.create().uint32(0x0a).string(value).finish())
        .finish();
    const span = protobuf.Writer.create()
      .uint32(0x0a)
      .bytes(Buffer.alloc(16, 1))
      .uint32(0x12)
      .bytes(Buffer.alloc(8, 1))
      .uint32(0x39)
      .fixed64(1)
      .uint32(0x4a)
      .bytes(kv('refused', 'secret'))
      .uint32(0x4a)
      .bytes(kv('kept', 'ok'))
      .uint32(0x4a)
      .bytes(kv('refused', 'secret again'))
      .finish();
    const request = w
      .uint32(0x0a)
      .bytes(
        protobuf.Writer.create()
          .uint32(0x12)
          .bytes(protobuf.Writer.create().uint32(0x12).bytes(span).finish())
          .finish(),
      )
      .finish();
    const { spans, errors } = decodeTraceRequest(request, filter);
    expect(errors).toEqual([]);
    expect(spans[0]!.attributes).toStrictEqual({ kept: 'ok' });
    // Each key asked once (the second 'refused' is known by its bytes), one value read.
    expect(seen).toEqual(['refused', 'kept', 'value:ok']);
  });
});

describe('OTLP/protobuf scanner: malformed input', () => {
  const filter = filters[0]![1];
  const recorded = (): Uint8Array => {
    const f = recordedFixtures().find((x) => x.name.startsWith('openai-chat'))!;
    return ProtobufTraceSerializer.serializeRequest(
      readableSpans(f.json as Parameters<typeof readableSpans>[0]),
    )!;
  };

  it('a truncated request: an error or the whole decode’s spans, never an exception', () => {
    const buf = recorded();
    let refused = 0;
    for (let cut = 0; cut < buf.length; cut++) {
      const part = buf.subarray(0, cut);
      const scanned = decodeTraceRequest(part, filter);
      if (scanned.errors.some((e) => e.startsWith('invalid OTLP/protobuf ExportTraceServiceRequest: '))) {
        expect(scanned.spans).toEqual([]);
        expect(scanned.errors).toHaveLength(1);
        refused++;
      } else expect(scanned).toStrictEqual(decodeTraceRequestWhole(part, filter));
    }
    expect(refused).toBeGreaterThan(buf.length / 2);
  });

  it('a length past its message, or a known field with the wrong wire type: a clear error', () => {
    const overrun = Uint8Array.from([0x0a, 0x03, 0x12, 0x05, 0x00, 0x00]);
    expect(decodeTraceRequest(overrun, filter)).toEqual({
      spans: [],
      errors: [expect.stringMatching(/^invalid OTLP\/protobuf ExportTraceServiceRequest: .*runs past/)],
    });
    const wrongWire = Uint8Array.from([0x08, 0x01]); // field 1 as a varint
    expect(decodeTraceRequest(wrongWire, filter)).toEqual({
      spans: [],
      errors: [
        expect.stringMatching(/^invalid OTLP\/protobuf ExportTraceServiceRequest: field 1 has wire type 0/),
      ],
    });
  });

  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        const r = decodeTraceRequest(bytes, filter);
        expect(Array.isArray(r.spans) && Array.isArray(r.errors)).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('cuts values nested deeper than OTLP/JSON keeps, without recursing into them', () => {
    let any = protobuf.Writer.create().uint32(0x0a).string('leaf').finish();
    for (let i = 0; i < 5000; i++) {
      const array = protobuf.Writer.create().uint32(0x0a).bytes(any).finish();
      any = protobuf.Writer.create().uint32(0x2a).bytes(array).finish();
    }
    const kv = protobuf.Writer.create()
      .uint32(0x0a)
      .string('fenra.context.deep')
      .uint32(0x12)
      .bytes(any)
      .finish();
    const span = protobuf.Writer.create()
      .uint32(0x0a)
      .bytes(Buffer.alloc(16, 1))
      .uint32(0x12)
      .bytes(Buffer.alloc(8, 1))
      .uint32(0x39)
      .fixed64(1)
      .uint32(0x4a)
      .bytes(kv)
      .finish();
    const ss = protobuf.Writer.create().uint32(0x12).bytes(span).finish();
    const rs = protobuf.Writer.create().uint32(0x12).bytes(ss).finish();
    const request = protobuf.Writer.create().uint32(0x0a).bytes(rs).finish();
    const r = decodeTraceRequest(request, filter);
    expect(r.errors).toEqual([]);
    expect(r.spans[0]!.attributes['fenra.context.deep']).toStrictEqual([]); // an array: not a scalar
  });
});
