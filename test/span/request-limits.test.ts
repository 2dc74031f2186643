import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { billingAttributeFilter } from '../../src/genai/billing-keys.js';
import type { RequestLimits } from '../../src/span/request-limits.js';
import { checkJson, checkProtobuf, LimitCount } from '../../src/span/request-limits.js';
import { decodeTraceRequest } from '../../src/span/otlp-proto.js';
import { emptyScopes, emptySpans, field, hugeArray, varint } from '../helpers/protobuf-bytes.js';
import { otlpJsonRequest, toProtobuf } from '../privacy/fuzz-requests.js';
import { readableSpans, recordedFixtures } from '../sidecar/otlp-replay.js';

/** The spans and attributes of a request, as the limits count them. */
function counts(buf: Uint8Array): { spans: number; attributes: number } {
  const c = new LimitCount({ maxSpans: Infinity, maxAttributes: Infinity });
  c.request(buf);
  return { spans: c.spans, attributes: c.attributes };
}

const keep = billingAttributeFilter();

/**
 * The sidecar's scanner, counting as it reads, refuses exactly what the walk refuses: at the
 * request's own counts it decodes it as without limits, one less of either and it is too large.
 */
function sameVerdicts(buf: Uint8Array): void {
  const { spans, attributes } = counts(buf);
  const at = (limits: RequestLimits): void => {
    const walked = checkProtobuf(buf, limits);
    const scanned = decodeTraceRequest(buf, keep, limits);
    expect(scanned.tooLarge === undefined, JSON.stringify(limits)).toBe(walked.ok);
    if (walked.ok) expect(scanned).toStrictEqual(decodeTraceRequest(buf, keep));
    else expect(scanned).toEqual({ spans: [], errors: [], tooLarge: walked.message });
  };
  at({ maxSpans: spans, maxAttributes: attributes });
  if (spans > 0) at({ maxSpans: spans - 1, maxAttributes: attributes });
  if (attributes > 0) at({ maxSpans: spans, maxAttributes: attributes - 1 });
}

/** One span with one attribute whose value is an array of `n` values. */
function bigArray(n: number): Buffer {
  const values = Buffer.concat(Array.from({ length: n }, () => field(1, field(1, Buffer.from('x')))));
  const kv = field(9, Buffer.concat([field(1, Buffer.from('k')), field(2, field(5, values))]));
  return field(1, field(2, field(2, kv)));
}

const recorded = (): Buffer => {
  const all = recordedFixtures().flatMap((f) => readableSpans(f.json));
  return Buffer.from(ProtobufTraceSerializer.serializeRequest(all)!);
};

describe('request limits, checked before decoding', () => {
  it('refuses a body of many empty spans at the limit, without decoding it', () => {
    const r = checkProtobuf(emptySpans(200_000), { maxSpans: 1_000, maxAttributes: 1_000 });
    expect(r).toEqual({ ok: false, message: expect.stringContaining('more than 1000 spans') });
    expect(checkProtobuf(emptySpans(1_000), { maxSpans: 1_000, maxAttributes: 1_000 })).toEqual({ ok: true });
  });

  it('counts attributes at every level, the values of an array attribute included', () => {
    const r = checkProtobuf(bigArray(5_000), { maxSpans: 10, maxAttributes: 1_000 });
    expect(r).toEqual({ ok: false, message: expect.stringContaining('more than 1000 attributes') });
    expect(checkProtobuf(bigArray(500), { maxSpans: 10, maxAttributes: 1_000 })).toEqual({ ok: true });
  });

  it('counts plain and nested values alike, at every level (resource, scope, span, event, link)', () => {
    const kv = (key: string, value: Buffer): Buffer =>
      Buffer.concat([field(1, Buffer.from(key)), field(2, value)]);
    const text = field(1, Buffer.from('x'));
    const int = Buffer.from([0x18, ...varint(300)]);
    const double = Buffer.from([0x21, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f]);
    const array = (n: number): Buffer =>
      field(5, Buffer.concat(Array.from({ length: n }, () => field(1, text))));
    // Five plain attributes (1 each), an array of 3 (1 + 3) and a list of a plain value and an array of 2 (1 + 1 + 1 + 2).
    const list = field(6, Buffer.concat([field(1, kv('p', int)), field(1, kv('q', array(2)))]));
    const attrs = (f: number): Buffer =>
      Buffer.concat([
        field(f, kv('s', text)),
        field(f, kv('i', int)),
        field(f, kv('d', double)),
        field(f, kv('b', Buffer.from([0x10, 1]))),
        field(f, Buffer.from([0x0a, 1, 0x6e])), // a key without a value
        field(f, kv('a', array(3))),
        field(f, kv('l', list)),
      ]);
    const perList = 5 + 4 + 5; // 14 attributes in each list of `attrs`
    const span = Buffer.concat([attrs(9), field(11, attrs(3)), field(13, attrs(4))]);
    const scopeSpans = Buffer.concat([field(1, attrs(3)), field(2, span)]);
    const body = field(1, Buffer.concat([field(1, attrs(1)), field(2, scopeSpans)]));
    const total = 5 * perList; // resource, scope, span, event, link
    expect(checkProtobuf(body, { maxSpans: 1, maxAttributes: total })).toEqual({ ok: true });
    expect(checkProtobuf(body, { maxSpans: 1, maxAttributes: total - 1 }).ok).toBe(false);
    sameVerdicts(body);
    // Twice the resource and the scope (the last one is read), and spans in instrumentation library spans.
    const twice = field(
      1,
      Buffer.concat([
        field(1, attrs(1)),
        field(1, attrs(1)),
        Buffer.from([...varint((1000 << 3) | 2), ...varint(scopeSpans.length), ...scopeSpans]),
        field(2, scopeSpans),
      ]),
    );
    expect(counts(twice)).toEqual({ spans: 2, attributes: 10 * perList });
    sameVerdicts(twice);
  });

  it('counts the recorded traces exactly as the decoder sees them', () => {
    const body = recorded();
    const spans = decodeTraceRequest(body).spans.length;
    expect(checkProtobuf(body, { maxSpans: spans, maxAttributes: 1e6 })).toEqual({ ok: true });
    expect(checkProtobuf(body, { maxSpans: spans - 1, maxAttributes: 1e6 }).ok).toBe(false);
  });

  it('leaves malformed bodies to the decoder (it says what is wrong)', () => {
    const body = recorded();
    expect(checkProtobuf(body.subarray(0, body.length >> 1), { maxSpans: 1, maxAttributes: 1 }).ok).toBe(
      false,
    );
    expect(
      checkProtobuf(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]), { maxSpans: 1, maxAttributes: 1 }),
    ).toEqual({
      ok: true,
    });
  });

  it('counted by the scanner as it reads: the same verdicts as the walk (recorded traces, hostile shapes)', () => {
    sameVerdicts(recorded());
    for (const f of recordedFixtures())
      sameVerdicts(ProtobufTraceSerializer.serializeRequest(readableSpans(f.json))!);
    sameVerdicts(emptySpans(3_000));
    sameVerdicts(emptyScopes(3_000));
    sameVerdicts(bigArray(2_000));
    sameVerdicts(hugeArray(2_000));
    expect(counts(bigArray(2_000))).toEqual({ spans: 1, attributes: 2_001 });
  });

  it('JSON: every recorded trace holds fewer objects and arrays than its own spans and attributes allow', () => {
    const containers = (v: unknown): number =>
      v === null || typeof v !== 'object'
        ? 0
        : 1 + (Array.isArray(v) ? v : Object.values(v)).reduce((n: number, x) => n + containers(x), 0);
    for (const f of recordedFixtures()) {
      const c = counts(ProtobufTraceSerializer.serializeRequest(readableSpans(f.json))!);
      expect(containers(f.json), f.name).toBeLessThanOrEqual(16 * c.spans + 2 * c.attributes);
    }
  });

  it('counted by the scanner as it reads: the same verdicts as the walk (random requests)', () => {
    fc.assert(
      fc.property(otlpJsonRequest, (request) => sameVerdicts(toProtobuf(request))),
      { numRuns: 300 },
    );
  });

  it('JSON: counts objects and arrays outside strings', () => {
    const spans = (n: number): Buffer =>
      Buffer.from(`{"resourceSpans":[{"scopeSpans":[{"spans":[${Array(n).fill('{}').join(',')}]}]}]}`);
    // At most 16 x 100 + 2 x 100 = 1800 objects and arrays.
    expect(checkJson(spans(2_000), { maxSpans: 100, maxAttributes: 100 }).ok).toBe(false);
    expect(checkJson(spans(1_790), { maxSpans: 100, maxAttributes: 100 }).ok).toBe(true);
    const arrays = (n: number): Buffer => Buffer.from(`{"resourceSpans":[${'[],'.repeat(n)}[]]}`);
    expect(checkJson(arrays(2_000), { maxSpans: 100, maxAttributes: 100 })).toEqual({
      ok: false,
      message: expect.stringContaining('more than 1800 JSON objects and arrays'),
    });
    expect(checkJson(arrays(1_790), { maxSpans: 100, maxAttributes: 100 }).ok).toBe(true);
    const braces = Buffer.from(`{"a":"${'{'.repeat(10_000)}\\"{{"}`);
    expect(checkJson(braces, { maxSpans: 1, maxAttributes: 1 })).toEqual({ ok: true });
  });
});
