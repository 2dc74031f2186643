/**
 * Bad input to a spawned `fenra-otel serve`: truncated and garbage protobuf, wrong content
 * types, JSON with wrong types, deep nesting (JSON and protobuf), huge attribute values and
 * bodies, a gzip bomb, slowloris-style connections that trickle their body, and 10k spans in
 * one trace. Each bad request gets a 4xx (never a 5xx), the process stays up, and valid
 * traffic sent alongside is answered 200 and billed exactly once.
 */
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IngestServer } from '../helpers/ingest-server.js';
import { startIngestServer } from '../helpers/ingest-server.js';
import type { SpawnedSidecar } from '../sidecar/spawn-sidecar.js';
import { spawnSidecar, until } from '../sidecar/spawn-sidecar.js';
import { bigTrace, deepProto } from './bad-input-payloads.js';
import { report } from './summary.js';
import { payload, possibleDuplicates, post, recordedKeys, rssMb } from './traffic.js';

const KEY = 'bad-input-key';
let ingest: IngestServer;
let sidecar: SpawnedSidecar;
let maxRss = 0;
let tag = 100;
const expected = new Set<string>();

beforeAll(async () => {
  ingest = await startIngestServer({ apiKey: KEY });
  sidecar = await spawnSidecar(
    ['--endpoint', ingest.url, '--flush-ms', '50', '--trace-wait-ms', '300', '--max-body-mb', '20'],
    { FENRA_API_KEY: KEY },
  );
});

afterAll(async () => {
  sidecar.proc.kill('SIGKILL');
  await sidecar.exited;
  await ingest.close();
});

const sample = (): void => {
  maxRss = Math.max(maxRss, rssMb(sidecar.proc.pid as number));
};

/** A valid request (all recorded traces, new ids): must be 200 and its keys billed later. */
async function valid(): Promise<number> {
  const p = payload(tag++);
  for (const k of p.keys) expected.add(k);
  const r = await post(sidecar.url, p.proto);
  sample();
  return r.status;
}

/**
 * Well-formed requests whose one odd value the receiver may cut instead of refusing the
 * request (OTLP/JSON AnyValue nesting beyond its bound becomes null): any answer but a 5xx.
 */
const TOLERATED = new Set(['JSON: attribute kvlist nested 5k deep']);

const PROTO = { 'content-type': 'application/x-protobuf' };
const JSON_CT = { 'content-type': 'application/json' };

function deepJson(depth: number): string {
  let v = '{"intValue":"1"}';
  for (let i = 0; i < depth; i++) v = `{"kvlistValue":{"values":[{"key":"k","value":${v}}]}}`;
  const now = Date.now() * 1_000_000;
  return `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","name":"x","startTimeUnixNano":"${now}","endTimeUnixNano":"${now + 1000}","attributes":[{"key":"deep","value":${v}}]}]}]}]}`;
}

describe('fenra-otel serve under bad input', () => {
  it('answers every malformed request 4xx, never 5xx, while valid traffic alongside is served and billed once', async () => {
    const good = payload(1);
    for (const k of good.keys) expected.add(k);
    const bad: [string, () => Promise<{ status: number }>][] = [
      ['truncated protobuf', () => post(sidecar.url, good.proto.slice(0, good.proto.length >> 1))],
      [
        'garbage bytes',
        () =>
          post(
            sidecar.url,
            Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256),
          ),
      ],
      ['empty-looking garbage', () => post(sidecar.url, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]))],
      ['protobuf sent as JSON', () => post(sidecar.url, good.proto, JSON_CT)],
      ['JSON sent as protobuf', () => post(sidecar.url, good.json, PROTO)],
      ['content type text/plain', () => post(sidecar.url, good.proto, { 'content-type': 'text/plain' })],
      [
        'content type application/xml',
        () => post(sidecar.url, '<x/>', { 'content-type': 'application/xml' }),
      ],
      [
        'unknown content encoding',
        () => post(sidecar.url, good.proto, { ...PROTO, 'content-encoding': 'br' }),
      ],
      [
        'gzip header, plain body',
        () => post(sidecar.url, good.proto, { ...PROTO, 'content-encoding': 'gzip' }),
      ],
      ['JSON: resourceSpans a string', () => post(sidecar.url, '{"resourceSpans":"x"}', JSON_CT)],
      ['JSON: null body', () => post(sidecar.url, 'null', JSON_CT)],
      ['JSON: an array', () => post(sidecar.url, '[1,2,3]', JSON_CT)],
      ['JSON: not JSON', () => post(sidecar.url, '{"resourceSpans":[', JSON_CT)],
      [
        'JSON: wrong field types',
        () =>
          post(
            sidecar.url,
            '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":5,"spanId":[],"attributes":{"a":1},"startTimeUnixNano":{}}]}]}]}',
            JSON_CT,
          ),
      ],
      [
        'JSON: arrays nested 100k deep',
        () => post(sidecar.url, `{"resourceSpans":${'['.repeat(100_000)}${']'.repeat(100_000)}}`, JSON_CT),
      ],
      ['JSON: attribute kvlist nested 5k deep', () => post(sidecar.url, deepJson(5_000), JSON_CT)],
      ['protobuf: attribute kvlist nested 20k deep', () => post(sidecar.url, deepProto(20_000))],
      [
        'gzip bomb (300 MiB of zeros)',
        () =>
          post(sidecar.url, gzipSync(Buffer.alloc(300 * 1024 * 1024)), {
            ...PROTO,
            'content-encoding': 'gzip',
          }),
      ],
      ['body over the limit (25 MiB)', () => post(sidecar.url, Buffer.alloc(25 * 1024 * 1024, 1))],
      [
        'wrong path',
        () => fetch(`${sidecar.url}/v1/logs`, { method: 'POST', body: good.proto, headers: PROTO }),
      ],
      [
        'wrong method',
        () => fetch(`${sidecar.url}/v1/traces`, { method: 'PUT', body: good.proto, headers: PROTO }),
      ],
    ];
    expect((await post(sidecar.url, good.proto)).status).toBe(200);
    const results = await Promise.all([
      ...bad.map(async ([name, send]) => ({ name, status: (await send()).status })),
      ...Array.from({ length: 6 }, async (_, i) => ({ name: `valid ${i}`, status: await valid() })),
    ]);
    sample();
    for (const r of results) {
      if (r.name.startsWith('valid')) expect(r, r.name).toEqual({ name: r.name, status: 200 });
      else if (TOLERATED.has(r.name)) expect(r.status, r.name).toBeLessThan(500);
      else {
        expect(r.status, r.name).toBeGreaterThanOrEqual(400);
        expect(r.status, r.name).toBeLessThan(500);
      }
    }
    expect(sidecar.proc.exitCode).toBeNull();
    expect((await fetch(`${sidecar.url}/healthz`)).status).toBe(200);
  });

  it('bills a span with a huge attribute value (a prompt) without sending the value', async () => {
    const chat = payload(tag++, ['openai-chat']);
    for (const k of chat.keys) expected.add(k);
    const big = JSON.parse(chat.json) as {
      resourceSpans: { scopeSpans: { spans: { attributes: { key: string; value: unknown }[] }[] }[] }[];
    };
    for (const rs of big.resourceSpans)
      for (const ss of rs.scopeSpans)
        for (const s of ss.spans)
          s.attributes.push({ key: 'gen_ai.prompt', value: { stringValue: 'x'.repeat(8 * 1024 * 1024) } });
    const text = JSON.stringify(big);
    const keysBefore = recordedKeys(ingest).distinct.size;
    const r = await post(sidecar.url, text, JSON_CT);
    sample();
    expect(r.status).toBe(200);
    await until(() => recordedKeys(ingest).distinct.size > keysBefore, 'the huge-attribute span billed');
    const last = ingest.requests[ingest.requests.length - 1];
    expect(last?.bytes).toBeLessThan(64 * 1024);
    const fresh = ingest.accepted.slice(-1)[0];
    expect(JSON.stringify(fresh?.transaction)).not.toContain('xxxxxxxx');
  });

  it('serves valid traffic while 40 slowloris connections trickle their bodies', async () => {
    const sockets: Socket[] = [];
    const port = Number(new URL(sidecar.url).port);
    const trickles: ReturnType<typeof setInterval>[] = [];
    let closedByServer = 0;
    for (let i = 0; i < 40; i++) {
      const s = connect(port, '127.0.0.1');
      s.on('error', () => undefined);
      s.on('close', () => closedByServer++);
      s.write(
        'POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-protobuf\r\nContent-Length: 1000000\r\n\r\n',
      );
      trickles.push(setInterval(() => s.writable && s.write(Buffer.from([0x0a])), 100));
      sockets.push(s);
    }
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) {
      statuses.push(await valid());
      await new Promise((r) => setTimeout(r, 150));
    }
    for (const t of trickles) clearInterval(t);
    for (const s of sockets) s.destroy();
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(sidecar.proc.exitCode).toBeNull();
    expect(closedByServer).toBeLessThanOrEqual(40);
  });

  it('takes 10,000 spans in one trace and bills every LLM span once', async () => {
    const traceId = '5ca1ab1e0000000000000000000000ff';
    const big = bigTrace(10_000, traceId);
    const r = await post(sidecar.url, big.json, JSON_CT);
    sample();
    expect(r.status).toBe(200);
    const keys = big.llmSpanIds.map((id) => `${traceId}/${id}`);
    for (const k of keys) expected.add(k);
    await until(
      () => {
        const got = recordedKeys(ingest).distinct;
        return keys.every((k) => got.has(k));
      },
      'every span of the big trace billed',
      60_000,
    );
    expect(sidecar.proc.exitCode).toBeNull();
  });

  it('in the end: every valid transaction delivered once, nothing else', async () => {
    await until(
      () => {
        const got = recordedKeys(ingest).distinct;
        return [...expected].every((k) => got.has(k));
      },
      'all valid traffic billed',
      30_000,
    );
    const { distinct, duplicates } = recordedKeys(ingest);
    // A copy only where an answer was lost (the test process, which also plays Fenra, is busy
    // building the hostile payloads for seconds: a request of the sidecar may time out), and
    // then counted by the sidecar as a possible duplicate.
    const possible = await possibleDuplicates(sidecar.url);
    expect(duplicates).toBeLessThanOrEqual(possible);
    expect([...distinct].filter((k) => !expected.has(k))).toEqual([]);
    report({
      scenario: 'sidecar: bad input beside valid traffic',
      acknowledged: expected.size,
      delivered: [...expected].filter((k) => distinct.has(k)).length,
      duplicates,
      possibleDuplicates: possible,
      counted: 0,
      maxRssMb: maxRss,
      note: 'RSS of the sidecar process',
    });
  });
});
