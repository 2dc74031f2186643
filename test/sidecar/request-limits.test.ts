import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { describe, expect, it } from 'vitest';
import { checkJson, checkProtobuf } from '../../src/sidecar/request-limits.js';
import { decodeTraceRequest } from '../../src/span/otlp-proto.js';
import { emptySpans, field } from '../helpers/protobuf-bytes.js';
import { readableSpans, recordedFixtures } from './otlp-replay.js';

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

  it('JSON: counts objects outside strings', () => {
    const spans = (n: number): Buffer =>
      Buffer.from(`{"resourceSpans":[{"scopeSpans":[{"spans":[${Array(n).fill('{}').join(',')}]}]}]}`);
    expect(checkJson(spans(1_000), { maxSpans: 100, maxAttributes: 100 }).ok).toBe(false);
    expect(checkJson(spans(250), { maxSpans: 100, maxAttributes: 100 }).ok).toBe(true);
    const braces = Buffer.from(`{"a":"${'{'.repeat(10_000)}\\"{{"}`);
    expect(checkJson(braces, { maxSpans: 1, maxAttributes: 1 })).toEqual({ ok: true });
  });
});
