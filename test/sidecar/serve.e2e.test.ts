import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ExportResultCode } from '@opentelemetry/core';
import protobuf from 'protobufjs/minimal.js';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FenraTransaction } from '../../src/fenra/transaction-schema.js';
import { toTransactions } from '../../src/stage/to-transactions.js';
import { PriceBook } from '../../src/pricing/price-book.js';
import { spansFromOtlpJson } from '../../src/span/from-otlp-json.js';
import { ExportTraceServiceRequest, ExportTraceServiceResponse } from '../../src/span/otlp-proto-schema.js';
import type { IngestServer } from '../helpers/ingest-server.js';
import { startIngestServer } from '../helpers/ingest-server.js';
import type { ReadableSpans } from './otlp-replay.js';
import { readableSpans, recordedFixtures } from './otlp-replay.js';
import type { SpawnedSidecar } from './spawn-sidecar.js';
import { spawnSidecar, until } from './spawn-sidecar.js';
import { renderTransaction } from '../../src/fenra/render-transaction.js';

/**
 * End to end: the real OTLP exporters (JSON and protobuf, gzip or not) send recorded GenAI
 * traces to a spawned `fenra-otel serve`, which delivers to the fake Fenra ingest server.
 */
const fixtures = recordedFixtures();
const KEY = 'test-key';

type Variant = { name: string; encoding: 'json' | 'proto'; compression: 'gzip' | 'none' };
const VARIANTS: Variant[] = [
  { name: 'json', encoding: 'json', compression: 'none' },
  { name: 'json+gzip', encoding: 'json', compression: 'gzip' },
  { name: 'proto', encoding: 'proto', compression: 'none' },
  { name: 'proto+gzip', encoding: 'proto', compression: 'gzip' },
];

/** The fixture with every trace id replaced (one copy of each trace per test case). */
function renamed(json: unknown, tag: number): { json: unknown; rename: (id: string) => string } {
  const rename = (id: string): string => tag.toString(16).padStart(4, '0') + id.slice(4);
  const text = JSON.stringify(json).replace(
    /"traceId":"([0-9a-f]{32})"/g,
    (_m, id: string) => `"traceId":"${rename(id)}"`,
  );
  return { json: JSON.parse(text) as unknown, rename };
}

const pricer = new PriceBook();
function expectedTransactions(json: unknown): FenraTransaction[] {
  return toTransactions(spansFromOtlpJson(json).spans, { pricer }).transactions.map((t) =>
    renderTransaction(t),
  );
}

const keyOf = (t: FenraTransaction): string =>
  `${String(t.context['trace_id'])}:${String(t.context['span_id'])}`;
const sortByKey = (list: FenraTransaction[]): FenraTransaction[] =>
  [...list].sort((a, b) => keyOf(a).localeCompare(keyOf(b)));

async function exportSpans(url: string, v: Variant, spans: ReadableSpans): Promise<void> {
  const options = { url: `${url}/v1/traces`, compression: v.compression as never };
  const exporter = v.encoding === 'json' ? new JsonExporter(options) : new ProtoExporter(options);
  const result = await new Promise<{ code: number; error?: Error }>((resolve) =>
    exporter.export(spans, resolve),
  );
  await exporter.shutdown();
  if (result.code !== ExportResultCode.SUCCESS) throw new Error(`export failed: ${result.error?.message}`);
}

function received(ingest: IngestServer, keys: ReadonlySet<string>): FenraTransaction[] {
  return ingest.accepted.map((a) => a.transaction).filter((t) => keys.has(keyOf(t)));
}

describe('fenra-otel serve, end to end with the real OTLP exporters', () => {
  let ingest: IngestServer;
  let sidecar: SpawnedSidecar;
  let tag = 1;

  beforeAll(async () => {
    ingest = await startIngestServer({ apiKey: KEY });
    sidecar = await spawnSidecar(
      [
        '--endpoint',
        ingest.url,
        '--flush-ms',
        '50',
        '--trace-wait-ms',
        '1000',
        '--max-body-mb',
        '1',
        '--max-decompressed-mb',
        '2',
      ],
      { FENRA_API_KEY: KEY },
    );
  }, 30_000);

  afterAll(async () => {
    sidecar?.proc.kill('SIGTERM');
    await sidecar?.exited;
    await ingest?.close();
  });

  it('has recorded fixtures to send', () => {
    expect(fixtures.length).toBeGreaterThan(5);
  });

  for (const v of VARIANTS) {
    it(`${v.name}: every recorded trace arrives as exactly the transactions toTransactions makes`, async () => {
      const expected: FenraTransaction[] = [];
      const spans: ReadableSpans = [];
      for (const f of fixtures) {
        const r = renamed(f.json, tag++);
        expected.push(...expectedTransactions(r.json));
        spans.push(...readableSpans(f.json, r.rename));
      }
      expect(expected.length).toBeGreaterThan(10);
      const keys = new Set(expected.map(keyOf));
      await exportSpans(sidecar.url, v, spans);
      await until(
        () => received(ingest, keys).length >= expected.length,
        'the transactions at the ingest server',
      );
      expect(sortByKey(received(ingest, keys))).toEqual(sortByKey(expected));
    });
  }

  it('an LLM span exported before its root span still gets the root span’s customer', async () => {
    const expected: FenraTransaction[] = [];
    const early: ReadableSpans = [];
    const late: ReadableSpans = [];
    for (const f of fixtures) {
      const r = renamed(f.json, tag++);
      expected.push(...expectedTransactions(r.json));
      for (const s of readableSpans(f.json, r.rename)) (s.parentSpanContext ? early : late).push(s);
    }
    const keys = new Set(expected.map(keyOf));
    const proto: Variant = { name: 'proto', encoding: 'proto', compression: 'none' };
    await exportSpans(sidecar.url, proto, early);
    await exportSpans(sidecar.url, proto, late);
    await until(
      () => received(ingest, keys).length >= expected.length,
      'the transactions at the ingest server',
    );
    const got = sortByKey(received(ingest, keys));
    expect(got).toEqual(sortByKey(expected));
    // The customers really came from root spans (not a default).
    expect(new Set(got.map((t) => t.context.billable_customer_id)).has('unattributed')).toBe(false);
  });

  describe('bad input gets 4xx and the server stays up', () => {
    const post = (body: Buffer | string, headers: Record<string, string>): Promise<Response> =>
      fetch(`${sidecar.url}/v1/traces`, { method: 'POST', body, headers });

    it('garbage protobuf → 400 with a message', async () => {
      const res = await post(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]), {
        'content-type': 'application/x-protobuf',
      });
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toBe('application/x-protobuf');
    });

    it('malformed JSON → 400 with a message', async () => {
      const res = await post('{"resourceSpans": [', { 'content-type': 'application/json' });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { message: string }).message).toMatch(/not valid JSON/);
    });

    it('JSON that is not an object → 400', async () => {
      const res = await post('[1,2,3]', { 'content-type': 'application/json' });
      expect(res.status).toBe(400);
    });

    it('a wrong content type → 415', async () => {
      const res = await post('hello', { 'content-type': 'text/plain' });
      expect(res.status).toBe(415);
      expect(((await res.json()) as { message: string }).message).toMatch(/Content-Type/);
    });

    it('an unknown content encoding → 415', async () => {
      const res = await post('{}', { 'content-type': 'application/json', 'content-encoding': 'br' });
      expect(res.status).toBe(415);
    });

    it('a body over --max-body-mb → 413', async () => {
      const res = await post(Buffer.alloc(1024 * 1024 + 10, 0x20), { 'content-type': 'application/json' });
      expect(res.status).toBe(413);
    });

    it('a gzip bomb (small on the wire, huge inflated) → 413', async () => {
      const bomb = gzipSync(Buffer.alloc(50 * 1024 * 1024, 0x20));
      expect(bomb.length).toBeLessThan(1024 * 1024);
      const res = await post(bomb, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      expect(res.status).toBe(413);
    });

    it('an attribute nested 40,000 levels deep is cut (the span is kept), not a crash', async () => {
      const depth = 40_000;
      const value = '{"arrayValue":{"values":['.repeat(depth) + '{"stringValue":"x"}' + ']}}'.repeat(depth);
      const span = `{"traceId":"${'ab'.repeat(16)}","spanId":"${'cd'.repeat(8)}","name":"n","startTimeUnixNano":"1","endTimeUnixNano":"2","attributes":[{"key":"deep","value":${value}}]}`;
      const body = gzipSync(`{"resourceSpans":[{"scopeSpans":[{"spans":[${span}]}]}]}`);
      const res = await post(body, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      expect(res.status).toBe(200);
    });

    it('protobuf: an attribute nested 70 levels deep is cut like in JSON (the span is kept), not a 400', async () => {
      // Past protobufjs's default recursion limit (100 messages): 5 levels to the attribute, 3 per kvlist level.
      const w = (): protobuf.Writer => protobuf.Writer.create();
      let any = w().uint32(10).string('x').finish(); // AnyValue.string_value
      for (let i = 0; i < 70; i++) {
        const kv = w().uint32(10).string('k').uint32(18).bytes(any).finish(); // KeyValue
        any = w()
          .uint32(50) // AnyValue.kvlist_value
          .bytes(w().uint32(10).bytes(kv).finish()) // KeyValueList.values
          .finish();
      }
      const span = w()
        .uint32(10)
        .bytes(new Uint8Array(16).fill(3)) // trace_id
        .uint32(18)
        .bytes(new Uint8Array(8).fill(4)) // span_id
        .uint32(42)
        .string('deep') // name
        .uint32(57)
        .fixed64(1) // start_time_unix_nano
        .uint32(65)
        .fixed64(2) // end_time_unix_nano
        .uint32(74)
        .bytes(w().uint32(10).string('deep').uint32(18).bytes(any).finish()) // attributes
        .finish();
      const scopeSpans = w().uint32(18).bytes(span).finish();
      const resourceSpans = w().uint32(18).bytes(scopeSpans).finish();
      const request = w().uint32(10).bytes(resourceSpans).finish();
      const res = await post(Buffer.from(request), { 'content-type': 'application/x-protobuf' });
      expect(res.status).toBe(200);
    });

    it('corrupt gzip → 400', async () => {
      const res = await post(Buffer.from('not gzip at all'), {
        'content-type': 'application/json',
        'content-encoding': 'gzip',
      });
      expect(res.status).toBe(400);
    });

    it('a request with some unreadable spans → 200 with partial_success naming them', async () => {
      const good = {
        traceId: 'ab'.repeat(16),
        spanId: 'cd'.repeat(8),
        name: 'ok',
        startTimeUnixNano: '1',
        endTimeUnixNano: '2',
      };
      const bad = { ...good, traceId: 'not-hex' };
      const body = JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [good, bad] }] }] });
      const res = await post(body, { 'content-type': 'application/json' });
      expect(res.status).toBe(200);
      const json = (await res.json()) as { partialSuccess: { rejectedSpans: string; errorMessage: string } };
      expect(json.partialSuccess.rejectedSpans).toBe('1');
      expect(json.partialSuccess.errorMessage).toMatch(/spans\[1\]/);
    });

    it('protobuf with an unreadable span → 200 with a protobuf partial_success', async () => {
      const span = (spanId: Uint8Array) => ({
        traceId: new Uint8Array(16).fill(1),
        spanId,
        name: 'n',
        startTimeUnixNano: 1,
        endTimeUnixNano: 2,
      });
      const request = ExportTraceServiceRequest.encode(
        ExportTraceServiceRequest.fromObject({
          resourceSpans: [
            { scopeSpans: [{ spans: [span(new Uint8Array(8).fill(2)), span(new Uint8Array(3))] }] },
          ],
        }),
      ).finish();
      const res = await post(Buffer.from(request), { 'content-type': 'application/x-protobuf' });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/x-protobuf');
      const decoded = ExportTraceServiceResponse.toObject(
        ExportTraceServiceResponse.decode(new Uint8Array(await res.arrayBuffer())),
        { longs: Number },
      ) as { partialSuccess?: { rejectedSpans: number; errorMessage: string } };
      expect(decoded.partialSuccess?.rejectedSpans).toBe(1);
      expect(decoded.partialSuccess?.errorMessage).toMatch(/spanId/);
    });

    it('an empty request is a success with an empty response', async () => {
      const res = await post('{}', { 'content-type': 'application/json' });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({});
    });

    it('unknown paths → 404, wrong method → 405', async () => {
      expect((await fetch(`${sidecar.url}/nope`)).status).toBe(404);
      expect((await fetch(`${sidecar.url}/v1/traces`)).status).toBe(405);
    });

    it('after all that, health, readiness and metrics answer and the process is alive', async () => {
      expect(sidecar.proc.exitCode).toBeNull();
      expect((await fetch(`${sidecar.url}/healthz`)).status).toBe(200);
      expect((await fetch(`${sidecar.url}/readyz`)).status).toBe(200);
      const metrics = await (await fetch(`${sidecar.url}/metrics`)).text();
      expect(metrics).toMatch(
        /^fenra_otel_receiver_requests_total\{transport="http",encoding="json",status="400"\} [1-9]/m,
      );
      expect(metrics).toMatch(
        /^fenra_otel_receiver_requests_total\{transport="http",encoding="other",status="415"\} 1$/m,
      );
      expect(metrics).toMatch(/^fenra_otel_transactions_accepted_total [1-9]/m);
      expect(metrics).toMatch(/^fenra_otel_cost_estimated_usd_total\{provider="openai",model="[^"]+"\} /m);
      // Spend by provider and model; customers only with --metrics-customer-labels.
      expect(metrics).not.toMatch(/customer=/);
    });
  });
});

describe('fenra-otel serve with a spool, killed with SIGKILL', () => {
  let dir: string;
  let ingest: IngestServer;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fenra-serve-spool-'));
    ingest = await startIngestServer({ apiKey: KEY });
  });
  afterAll(async () => {
    await ingest?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('after kill -9 and a restart, every transaction arrives; duplicates only from the request Fenra never answered', async () => {
    const args = [
      '--endpoint',
      ingest.url,
      '--flush-ms',
      '50',
      '--batch-size',
      '500',
      '--trace-wait-ms',
      '60000',
      '--spool-dir',
      dir,
    ];
    const env = { FENRA_API_KEY: KEY };
    const proto: Variant = { name: 'proto', encoding: 'proto', compression: 'gzip' };
    const records = (): number => readdirSync(dir).filter((f) => f.startsWith('rec-')).length;
    const group = (
      base: number,
    ): { spans: ReadableSpans; roots: ReadableSpans; expected: FenraTransaction[] } => {
      const spans: ReadableSpans = [];
      const roots: ReadableSpans = [];
      const expected: FenraTransaction[] = [];
      for (const f of fixtures) {
        const r = renamed(f.json, base++);
        expected.push(...expectedTransactions(r.json));
        for (const s of readableSpans(f.json, r.rename)) (s.parentSpanContext ? spans : roots).push(s);
      }
      return { spans, roots, expected };
    };
    const A = group(0x100);
    const B = group(0x200);
    const D = group(0x300);
    const keys = (g: { expected: FenraTransaction[] }): Set<string> => new Set(g.expected.map(keyOf));

    let sidecar = await spawnSidecar(args, env);
    // A: delivered and answered; its records leave the spool.
    await exportSpans(sidecar.url, proto, [...A.spans, ...A.roots]);
    await until(() => received(ingest, keys(A)).length >= A.expected.length, 'A at the ingest server');
    await until(() => records() === 0, 'the spool to empty after A');

    // B: Fenra records the batch but never answers it.
    ingest.script([{ kind: 'hang' }]);
    const before = ingest.requests.length;
    await exportSpans(sidecar.url, proto, [...B.spans, ...B.roots]);
    await until(
      () => ingest.requests.length > before && ingest.pending() === 0,
      'B to reach the (hanging) ingest server',
    );
    // D: LLM spans acknowledged by the sidecar, their roots not sent yet.
    await exportSpans(sidecar.url, proto, D.spans);

    sidecar.proc.kill('SIGKILL');
    expect(await sidecar.exited).toBe('SIGKILL');
    expect(records()).toBeGreaterThan(0);

    sidecar = await spawnSidecar(args, env);
    try {
      await exportSpans(sidecar.url, proto, D.roots);
      const all = new Set([...keys(A), ...keys(B), ...keys(D)]);
      const distinct = (): number => new Set(received(ingest, all).map(keyOf)).size;
      await until(() => distinct() === all.size, 'every transaction after the restart', 30_000);
      await until(() => records() === 0, 'the spool to empty after the restart');

      const count = new Map<string, number>();
      for (const t of received(ingest, all)) count.set(keyOf(t), (count.get(keyOf(t)) ?? 0) + 1);
      const dupes = [...count].filter(([, n]) => n > 1).map(([k]) => k);
      // B was recorded by Fenra but never answered: the spool kept it and the restart resent it.
      expect(new Set(dupes)).toEqual(keys(B));
      for (const k of keys(B)) expect(count.get(k)).toBe(2);
      for (const k of [...keys(A), ...keys(D)]) expect(count.get(k)).toBe(1);
      // D was attributed by roots that arrived only after the restart.
      const first = new Map(received(ingest, keys(D)).map((t) => [keyOf(t), t]));
      expect(sortByKey([...first.values()])).toEqual(sortByKey(D.expected));
    } finally {
      sidecar.proc.kill('SIGTERM');
      expect(await sidecar.exited).toBe(0);
    }
  }, 60_000);
});
