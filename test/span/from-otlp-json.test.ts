import { describe, expect, it } from 'vitest';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { unlinkedView } from '../helpers/span.js';
import { anyValue, parseOtlpJsonText, spansFromOtlpJson } from '../../src/span/from-otlp-json.js';
import { SpanKind, StatusCode, type SpanView } from '../../src/span/span-view.js';
import { recordRealSpans } from './real-spans.js';

const TRACE = '0af7651916cd43dd8448eb211c80319c';
const SPAN = 'b7ad6b7169203331';
const PARENT = '00f067aa0ba902b7';
const b64 = (hex: string): string => Buffer.from(hex, 'hex').toString('base64');

/** A minimal valid OTLP/JSON span, with overrides. */
const span = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  traceId: TRACE,
  spanId: SPAN,
  name: 'chat',
  kind: 3,
  startTimeUnixNano: '1751328000123456789',
  endTimeUnixNano: '1751328001000000000',
  ...over,
});
const request = (spans: unknown[], extra: Record<string, unknown> = {}): unknown => ({
  resourceSpans: [
    {
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] },
      scopeSpans: [{ scope: { name: 'lib', version: '1.0' }, spans }],
      ...extra,
    },
  ],
});
const one = (s: Record<string, unknown>): SpanView => {
  const r = spansFromOtlpJson(request([s]));
  expect(r.errors).toEqual([]);
  expect(r.spans).toHaveLength(1);
  return r.spans[0]!;
};
const attr = (value: unknown): unknown => one(span({ attributes: [{ key: 'a', value }] })).attributes['a'];

describe('spansFromOtlpJson: round trip through the real JsonTraceSerializer', () => {
  it('gives the same SpanView as fromReadableSpan for every span', async () => {
    const sdkSpans = await recordRealSpans();
    const text = new TextDecoder().decode(JsonTraceSerializer.serializeRequest(sdkSpans));
    const parsed = parseOtlpJsonText(text);
    expect(parsed.errors).toEqual([]);
    expect(parsed.requests).toHaveLength(1);
    const { spans, errors } = spansFromOtlpJson(parsed.requests[0]);
    expect(errors).toEqual([]);
    expect(spans).toHaveLength(sdkSpans.length);
    for (const sdk of sdkSpans) {
      const expected = unlinkedView(sdk);
      const got = spans.find((s) => s.spanId === expected.spanId);
      expect(got).toEqual(expected);
    }
  });
});

describe('spansFromOtlpJson: encodings', () => {
  it('accepts base64 ids (proto3 JSON mapping) and normalises to lower-case hex', () => {
    const v = one(span({ traceId: b64(TRACE), spanId: b64(SPAN), parentSpanId: b64(PARENT) }));
    expect([v.traceId, v.spanId, v.parentSpanId]).toEqual([TRACE, SPAN, PARENT]);
    const upper = one(span({ traceId: TRACE.toUpperCase(), spanId: SPAN.toUpperCase() }));
    expect([upper.traceId, upper.spanId]).toEqual([TRACE, SPAN]);
  });

  it('treats an empty or all-zero parent id as a root span', () => {
    expect(one(span({ parentSpanId: '' })).parentSpanId).toBeUndefined();
    expect(one(span({ parentSpanId: '0000000000000000' })).parentSpanId).toBeUndefined();
    expect(one(span({ parentSpanId: b64('0000000000000000') })).parentSpanId).toBeUndefined();
  });

  it.each([
    ['string', '1751328000123456789', 1751328000123.4568],
    ['number', 1751328000123000000, 1751328000123],
    ['small string', '5000000', 5],
  ])('reads int64 times as %s', (_label, start, ms) => {
    expect(one(span({ startTimeUnixNano: start, endTimeUnixNano: start })).startTimeMs).toBe(ms);
  });

  it('keeps nanosecond strings exact to the double', () => {
    const v = one(span());
    expect(v.startTimeMs).toBe(1751328000 * 1000 + 123456789 / 1e6);
    expect(v.endTimeMs).toBe(1751328001000);
  });

  it.each<[string, unknown, unknown]>([
    ['stringValue', { stringValue: 'x' }, 'x'],
    ['empty stringValue', { stringValue: '' }, ''],
    ['intValue number', { intValue: 42 }, 42],
    ['intValue string', { intValue: '42' }, 42],
    ['negative intValue string', { intValue: '-7' }, -7],
    ['intValue beyond 2^53 stays a string', { intValue: '9223372036854775807' }, '9223372036854775807'],
    ['doubleValue', { doubleValue: 0.25 }, 0.25],
    ['doubleValue string', { doubleValue: 'Infinity' }, Infinity],
    ['boolValue', { boolValue: false }, false],
    ['arrayValue', { arrayValue: { values: [{ stringValue: 'a' }, { intValue: '2' }, {}] } }, ['a', 2, null]],
    ['empty arrayValue', { arrayValue: {} }, []],
    [
      'kvlistValue',
      {
        kvlistValue: {
          values: [
            { key: 'k', value: { boolValue: true } },
            {
              key: 'nested',
              value: { kvlistValue: { values: [{ key: 'x', value: { doubleValue: 1.5 } }] } },
            },
          ],
        },
      },
      { k: true, nested: { x: 1.5 } },
    ],
    ['bytesValue', { bytesValue: Buffer.from([1, 2, 255]).toString('base64') }, new Uint8Array([1, 2, 255])],
    ['empty AnyValue', {}, null],
    ['missing value', undefined, null],
    ['snake_case proto names', { string_value: 's' }, 's'],
  ])('decodes AnyValue %s', (_label, value, expected) => {
    expect(attr(value)).toEqual(expected);
  });

  it('returns bytesValue as a Uint8Array', () => {
    expect(attr({ bytesValue: 'AQI=' })).toBeInstanceOf(Uint8Array);
  });

  it.each<[unknown, number]>([
    [0, SpanKind.INTERNAL],
    [1, SpanKind.INTERNAL],
    [2, SpanKind.SERVER],
    [3, SpanKind.CLIENT],
    [4, SpanKind.PRODUCER],
    [5, SpanKind.CONSUMER],
    ['SPAN_KIND_UNSPECIFIED', SpanKind.INTERNAL],
    ['SPAN_KIND_INTERNAL', SpanKind.INTERNAL],
    ['SPAN_KIND_SERVER', SpanKind.SERVER],
    ['SPAN_KIND_CLIENT', SpanKind.CLIENT],
    ['SPAN_KIND_PRODUCER', SpanKind.PRODUCER],
    ['SPAN_KIND_CONSUMER', SpanKind.CONSUMER],
    [undefined, SpanKind.INTERNAL],
    [99, SpanKind.INTERNAL],
  ])('maps kind %s', (kind, expected) => {
    expect(one(span({ kind })).kind).toBe(expected);
  });

  it.each<[unknown, unknown]>([
    [
      { code: 2, message: 'boom' },
      { code: StatusCode.ERROR, message: 'boom' },
    ],
    [
      { code: 'STATUS_CODE_ERROR', message: 'boom' },
      { code: StatusCode.ERROR, message: 'boom' },
    ],
    [{ code: 'STATUS_CODE_OK' }, { code: StatusCode.OK }],
    [{ code: 1, message: '' }, { code: StatusCode.OK }],
    [{}, { code: StatusCode.UNSET }],
    [undefined, { code: StatusCode.UNSET }],
  ])('maps status %j', (status, expected) => {
    expect(one(span({ status })).status).toStrictEqual(expected);
  });

  it('accepts the legacy instrumentationLibrarySpans shape', () => {
    const r = spansFromOtlpJson({
      resourceSpans: [
        {
          instrumentationLibrarySpans: [
            { instrumentationLibrary: { name: 'old', version: '0.1' }, spans: [span()] },
          ],
        },
      ],
    });
    expect(r.errors).toEqual([]);
    expect(r.spans[0]!.scope).toEqual({ name: 'old', version: '0.1' });
    expect(r.spans[0]!.resource).toEqual({});
  });

  it('maps events with attributes and times', () => {
    const v = one(
      span({
        events: [
          {
            name: 'e1',
            timeUnixNano: '1751328000500000000',
            attributes: [{ key: 'x', value: { intValue: '1' } }],
          },
          { name: 'e2', timeUnixNano: 1751328000600000000 },
        ],
      }),
    );
    expect(v.events).toEqual([
      { name: 'e1', timeMs: 1751328000500, attributes: { x: 1 } },
      { name: 'e2', timeMs: 1751328000600, attributes: {} },
    ]);
  });
});

describe('spansFromOtlpJson: malformed input', () => {
  it.each<[string, Record<string, unknown>, RegExp]>([
    ['missing traceId', { traceId: undefined }, /spans\[1\]: invalid or missing traceId/],
    ['short traceId', { traceId: 'abc' }, /traceId/],
    ['all-zero traceId', { traceId: '0'.repeat(32) }, /traceId/],
    ['numeric spanId', { spanId: 12 }, /spanId/],
    ['base64 spanId of wrong length', { spanId: b64(TRACE) }, /spanId/],
    ['bad parent', { parentSpanId: 'xyz' }, /parentSpanId/],
    ['missing start time', { startTimeUnixNano: undefined }, /startTimeUnixNano/],
    ['non-numeric start time', { startTimeUnixNano: 'yesterday' }, /startTimeUnixNano/],
    ['bad end time', { endTimeUnixNano: -5 }, /endTimeUnixNano/],
  ])('skips a span with %s and says where and why', (_label, over, message) => {
    const r = spansFromOtlpJson(request([span({ spanId: PARENT }), span(over), span()]));
    expect(r.spans.map((s) => s.spanId)).toEqual([PARENT, SPAN]);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatch(/^resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[1\]: /);
    expect(r.errors[0]).toMatch(message);
  });

  it.each<[string, unknown, RegExp]>([
    ['null', null, /^request: expected/],
    ['a string', 'hello', /^request: expected/],
    ['an array', [1, 2], /^request: expected/],
    ['resourceSpans not an array', { resourceSpans: {} }, /^resourceSpans: expected an array/],
    [
      'a resourceSpans entry not an object',
      { resourceSpans: [42] },
      /^resourceSpans\[0\]: expected an object/,
    ],
    [
      'scopeSpans not an array',
      { resourceSpans: [{ scopeSpans: 'x' }] },
      /^resourceSpans\[0\]\.scopeSpans: /,
    ],
    ['spans not an array', { resourceSpans: [{ scopeSpans: [{ spans: 3 }] }] }, /scopeSpans\[0\]\.spans: /],
    [
      'a span not an object',
      { resourceSpans: [{ scopeSpans: [{ spans: [null] }] }] },
      /spans\[0\]: expected/,
    ],
  ])('reports %s without throwing', (_label, input, message) => {
    const r = spansFromOtlpJson(input);
    expect(r.spans).toEqual([]);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatch(message);
  });

  it('gives nothing and no error for an empty request', () => {
    expect(spansFromOtlpJson({})).toEqual({ spans: [], errors: [] });
    expect(spansFromOtlpJson({ resourceSpans: [{}] })).toEqual({ spans: [], errors: [] });
  });

  it('tolerates missing optional fields', () => {
    const v = one({ traceId: TRACE, spanId: SPAN, startTimeUnixNano: '1000000000' });
    expect(v).toEqual({
      traceId: TRACE,
      spanId: SPAN,
      parentSpanId: undefined,
      name: '',
      kind: SpanKind.INTERNAL,
      startTimeMs: 1000,
      endTimeMs: 1000,
      status: { code: StatusCode.UNSET },
      attributes: {},
      resource: { 'service.name': 'svc' },
      scope: { name: 'lib', version: '1.0' },
      events: [],
    });
  });
});

describe('parseOtlpJsonText', () => {
  it('parses one (pretty-printed) document', () => {
    const text = JSON.stringify(request([span()]), null, 2);
    const r = parseOtlpJsonText(text);
    expect(r.errors).toEqual([]);
    expect(r.requests).toEqual([request([span()])]);
  });

  it('parses JSON Lines, ignores blank lines and names the bad line', () => {
    const lines = [
      JSON.stringify(request([span()])),
      '',
      '{"resourceSpans": [',
      JSON.stringify(request([span({ spanId: PARENT })])),
      '   ',
    ];
    const r = parseOtlpJsonText(lines.join('\r\n'));
    expect(r.requests).toHaveLength(2);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatch(/^line 3: invalid JSON/);
    const ids = r.requests.flatMap((q) => spansFromOtlpJson(q).spans.map((s) => s.spanId));
    expect(ids).toEqual([SPAN, PARENT]);
  });

  it('parses JSON Lines written by the real serializer', async () => {
    const sdkSpans = await recordRealSpans();
    const text = [sdkSpans.slice(0, 3), sdkSpans.slice(3)]
      .map((batch) => new TextDecoder().decode(JsonTraceSerializer.serializeRequest(batch)))
      .join('\n');
    const r = parseOtlpJsonText(`${text}\n`);
    expect(r.errors).toEqual([]);
    expect(r.requests.flatMap((q) => spansFromOtlpJson(q).spans)).toHaveLength(sdkSpans.length);
  });

  it.each([
    ['garbage', 'not json at all'],
    ['a truncated document', '{\n  "resourceSpans": [\n'],
    ['binary noise', '\u0000\u0001\u00ff'],
  ])('gives one error for %s', (_label, text) => {
    const r = parseOtlpJsonText(text);
    expect(r.requests).toEqual([]);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatch(/^invalid JSON/);
  });

  it('reports empty input', () => {
    expect(parseOtlpJsonText('  \n')).toEqual({ requests: [], errors: [expect.stringMatching(/empty/)] });
  });

  it('strips a byte-order mark', () => {
    expect(parseOtlpJsonText('\ufeff{"resourceSpans":[]}').requests).toEqual([{ resourceSpans: [] }]);
  });
});

describe('anyValue nesting', () => {
  it('cuts values nested deeper than 64 levels instead of throwing', () => {
    let v: unknown = { stringValue: 'leaf' };
    for (let i = 0; i < 20_000; i++) v = { arrayValue: { values: [v] } };
    expect(() => anyValue(v)).not.toThrow();
    let depth = 0;
    let cur = anyValue(v);
    while (Array.isArray(cur)) {
      depth++;
      cur = cur[0] as never;
    }
    expect(depth).toBe(65);
    expect(cur).toBeNull();
  });
});
