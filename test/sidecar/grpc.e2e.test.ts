import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metadata } from '@grpc/grpc-js';
import { ExportResultCode } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderTransaction } from '../../src/fenra/render-transaction.js';
import type { FenraTransaction } from '../../src/fenra/transaction-schema.js';
import { PriceBook } from '../../src/pricing/price-book.js';
import { spansFromOtlpJson } from '../../src/span/from-otlp-json.js';
import { ExportTraceServiceRequest, ExportTraceServiceResponse } from '../../src/span/otlp-proto-schema.js';
import { toTransactions } from '../../src/stage/to-transactions.js';
import type { IngestServer } from '../helpers/ingest-server.js';
import { startIngestServer } from '../helpers/ingest-server.js';
import { RawOtlpClient } from './grpc-client.js';
import type { ReadableSpans } from './otlp-replay.js';
import { readableSpans, recordedFixtures } from './otlp-replay.js';
import type { SpawnedSidecar } from './spawn-sidecar.js';
import { spawnSidecar, until } from './spawn-sidecar.js';

/**
 * End to end over OTLP/gRPC: the real `@opentelemetry/exporter-trace-otlp-grpc` (plain and
 * gzip) sends every recorded GenAI trace to a spawned `fenra-otel serve --grpc-port auto` that
 * requires a bearer token; the fake Fenra ingest server must receive exactly what
 * `toTransactions` makes of the same traces.
 */
const fixtures = recordedFixtures();
const KEY = 'grpc-key';
const TOKEN = 'receiver-token-grpc';
const pricer = new PriceBook();
const dir = mkdtempSync(join(tmpdir(), 'fenra-grpc-e2e-'));

function renamed(json: unknown, tag: number): { json: unknown; rename: (id: string) => string } {
  const rename = (id: string): string => 'e' + tag.toString(16).padStart(3, '0') + id.slice(4);
  const text = JSON.stringify(json).replace(
    /"traceId":"([0-9a-f]{32})"/g,
    (_m, id: string) => `"traceId":"${rename(id)}"`,
  );
  return { json: JSON.parse(text) as unknown, rename };
}

const keyOf = (t: FenraTransaction): string =>
  `${String(t.context['trace_id'])}:${String(t.context['span_id'])}`;
const sortByKey = (list: FenraTransaction[]): FenraTransaction[] =>
  [...list].sort((a, b) => keyOf(a).localeCompare(keyOf(b)));

function bearer(token: string): Metadata {
  const md = new Metadata();
  md.set('authorization', `Bearer ${token}`);
  return md;
}

async function exportGrpc(
  address: string,
  spans: ReadableSpans,
  o: { compression?: 'gzip' | 'none'; token?: string } = {},
): Promise<{ code: number; error?: Error }> {
  const exporter = new OTLPTraceExporter({
    url: `http://${address}`,
    compression: (o.compression ?? 'none') as never,
    metadata: bearer(o.token ?? TOKEN),
  });
  const result = await new Promise<{ code: number; error?: Error }>((resolve) =>
    exporter.export(spans, resolve),
  );
  await exporter.shutdown();
  return result;
}

describe('fenra-otel serve over OTLP/gRPC, with the real gRPC exporter', () => {
  let ingest: IngestServer;
  let sidecar: SpawnedSidecar;
  let address: string;
  let tag = 1;

  beforeAll(async () => {
    ingest = await startIngestServer({ apiKey: KEY });
    writeFileSync(join(dir, 'token'), TOKEN);
    sidecar = await spawnSidecar(
      [
        '--grpc-port',
        'auto',
        '--receiver-token-file',
        join(dir, 'token'),
        '--endpoint',
        ingest.url,
        '--flush-ms',
        '50',
        '--trace-wait-ms',
        '1000',
      ],
      { FENRA_API_KEY: KEY },
    );
    address = sidecar.grpc!;
  }, 30_000);

  afterAll(async () => {
    sidecar?.proc.kill('SIGTERM');
    await sidecar?.exited;
    await ingest?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('listens on its own port beside OTLP/HTTP', () => {
    expect(address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(address).not.toBe(sidecar.url.replace('http://', ''));
  });

  for (const compression of ['none', 'gzip'] as const) {
    it(`${compression}: every recorded trace arrives as exactly the transactions toTransactions makes`, async () => {
      const expected: FenraTransaction[] = [];
      const early: ReadableSpans = [];
      const late: ReadableSpans = [];
      for (const f of fixtures) {
        const r = renamed(f.json, tag++);
        expected.push(
          ...toTransactions(spansFromOtlpJson(r.json).spans, { pricer }).transactions.map((t) =>
            renderTransaction(t),
          ),
        );
        // Child spans (the LLM calls) in one request, the root spans in a later one.
        for (const s of readableSpans(f.json, r.rename)) (s.parentSpanContext ? early : late).push(s);
      }
      expect(expected.length).toBeGreaterThan(10);
      expect((await exportGrpc(address, early, { compression })).code).toBe(ExportResultCode.SUCCESS);
      expect((await exportGrpc(address, late, { compression })).code).toBe(ExportResultCode.SUCCESS);
      const keys = new Set(expected.map(keyOf));
      const received = (): FenraTransaction[] =>
        ingest.accepted.map((a) => a.transaction).filter((t) => keys.has(keyOf(t)));
      await until(() => received().length >= expected.length, 'the transactions at the ingest server');
      expect(sortByKey(received())).toEqual(sortByKey(expected));
      expect(new Set(received().map((t) => t.context.billable_customer_id)).has('unattributed')).toBe(false);
    });
  }

  it('refuses a wrong token with UNAUTHENTICATED and bills nothing of it', async () => {
    const before = ingest.accepted.length;
    const r = renamed(fixtures[0]!.json, tag++);
    const result = await exportGrpc(address, readableSpans(fixtures[0]!.json, r.rename), { token: 'wrong' });
    expect(result.code).toBe(ExportResultCode.FAILED);
    expect((result.error as Error & { code?: number }).code).toBe(16);
    const raw = new RawOtlpClient(address);
    const none = await raw.export(ExportTraceServiceRequest.encode({}).finish());
    raw.close();
    expect(none.code).toBe(16);
    expect(ingest.accepted.length).toBe(before);
  });

  it('answers partial success naming spans it could not read, and counts calls by transport', async () => {
    const r = renamed(fixtures[0]!.json, tag++);
    const json = r.json as { resourceSpans: { scopeSpans: { spans: { spanId: string }[] }[] }[] };
    const spans = spansFromOtlpJson(r.json).spans;
    const request = ExportTraceServiceRequest.fromObject({
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: [
                ...spans.slice(0, 1).map((s) => ({
                  traceId: Buffer.from(s.traceId, 'hex'),
                  spanId: Buffer.from(s.spanId, 'hex'),
                  name: s.name,
                  startTimeUnixNano: 1_700_000_000_000_000_000n.toString(),
                  endTimeUnixNano: 1_700_000_001_000_000_000n.toString(),
                })),
                { traceId: Buffer.from('abcd', 'hex'), spanId: Buffer.from('01', 'hex'), name: 'bad ids' },
              ],
            },
          ],
        },
      ],
    });
    expect(json.resourceSpans.length).toBeGreaterThan(0);
    const raw = new RawOtlpClient(address);
    const reply = await raw.export(ExportTraceServiceRequest.encode(request).finish(), {
      token: `bearer ${TOKEN}`,
    });
    raw.close();
    expect(reply.code).toBe(0);
    const response = ExportTraceServiceResponse.decode(reply.response!) as unknown as {
      partialSuccess?: { rejectedSpans: number | { low: number }; errorMessage: string };
    };
    expect(Number(response.partialSuccess?.rejectedSpans)).toBe(1);
    expect(response.partialSuccess?.errorMessage).toMatch(/id/);
    // /metrics takes the receiver token too.
    const metrics = await (
      await fetch(`${sidecar.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })
    ).text();
    expect(metrics).toMatch(
      /^fenra_otel_receiver_requests_total\{transport="grpc",encoding="protobuf",status="OK"\} [1-9]/m,
    );
    expect(metrics).toMatch(
      /^fenra_otel_receiver_requests_total\{transport="grpc",encoding="protobuf",status="UNAUTHENTICATED"\} [1-9]/m,
    );
  });
});
