/**
 * An OTLP exporter re-sends a request the sidecar already took (its attempt timed out, or the
 * answer was lost): the spans are billed once, whether the copy arrives at once or after the
 * trace was billed. In-process `runServe`, real HTTP, strict ingest server.
 */
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IngestServer } from '../helpers/ingest-server.js';
import { startIngestServer } from '../helpers/ingest-server.js';
import type { ServedInProcess } from '../helpers/serve-in-process.js';
import { serveInProcess } from '../helpers/serve-in-process.js';
import { readableSpans, recordedFixtures } from './otlp-replay.js';
import { until } from './spawn-sidecar.js';

const KEY = 'resend-key';
let ingest: IngestServer;
let url: string;
let served: ServedInProcess;

beforeAll(async () => {
  ingest = await startIngestServer({ apiKey: KEY });
  served = await serveInProcess(
    [
      '--port',
      '0',
      '--grpc-port',
      '0',
      '--endpoint',
      ingest.url,
      '--flush-ms',
      '20',
      '--trace-wait-ms',
      '100',
    ],
    { FENRA_API_KEY: KEY },
  );
  url = `${served.base}/v1/traces`;
});

afterAll(async () => {
  await served.stop();
  await ingest.close();
});

const keys = (): string[] =>
  ingest.accepted.map(
    (a) => `${String(a.transaction.context['trace_id'])}/${String(a.transaction.context['span_id'])}`,
  );

async function post(body: Uint8Array): Promise<number> {
  const r = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/x-protobuf' } });
  await r.arrayBuffer();
  return r.status;
}

/**
 * A fresh copy of a fixture as a new trace, and its trace id: requests are taken and billed in
 * order, so once a marker sent after a request is billed, whatever that request would bill has
 * been billed too — no fixed sleep decides that nothing more comes.
 */
const markerTraces = new Set<string>();
function marker(): { body: Uint8Array; traceId: string } {
  const fixture = recordedFixtures().find((f) => f.name === 'openai-chat')!;
  const traceId = (0xabc000 + markerTraces.size + 1).toString(16).padStart(32, '0');
  markerTraces.add(traceId);
  const body = ProtobufTraceSerializer.serializeRequest(
    readableSpans(fixture.json, () => traceId),
  ) as Uint8Array;
  return { body, traceId };
}

async function settle(): Promise<void> {
  const m = marker();
  expect(await post(m.body)).toBe(200);
  await until(() => keys().some((k) => k.startsWith(`${m.traceId}/`)), 'the marker billed');
}

describe('fenra-otel serve, a request received twice', () => {
  it('bills the spans once, for an immediate copy and for a copy after billing', async () => {
    const fixture = recordedFixtures().find((f) => f.name === 'openai-chat');
    const body = ProtobufTraceSerializer.serializeRequest(readableSpans(fixture!.json)) as Uint8Array;
    const own = (): string[] => keys().filter((k) => !markerTraces.has(k.split('/')[0]!));
    expect(await Promise.all([post(body), post(body)])).toEqual([200, 200]);
    await settle();
    const billed = own();
    expect(billed.length).toBeGreaterThan(0);
    expect(new Set(billed).size).toBe(billed.length);
    expect(await post(body)).toBe(200);
    await settle();
    expect(own()).toEqual(billed);
  });
});
