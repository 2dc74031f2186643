import { connect as http2Connect } from 'node:http2';
import { afterEach, describe, expect, it } from 'vitest';
import type { ServeConfig } from '../../src/config/serve.js';
import { resolveServeConfig } from '../../src/config/serve.js';
import type { SendOptions, SendResult, TransactionSender } from '../../src/pipeline/sender.js';
import { TRACE_EXPORT_PATH } from '../../src/sidecar/grpc/otlp-grpc-server.js';
import type { RunningSidecar } from '../../src/sidecar/sidecar.js';
import { startSidecar } from '../../src/sidecar/sidecar.js';
import { ExportTraceServiceRequest } from '../../src/span/otlp-proto-schema.js';
import type { PricedTransaction } from '../../src/stage/priced-transaction.js';
import { ManualScheduler } from '../helpers/manual-scheduler.js';
import { detailsCode, RawOtlpClient, retryDelaySeconds } from './grpc-client.js';
import { until } from './spawn-sidecar.js';

/**
 * OTLP/gRPC limits and bad input against an in-process sidecar (real sockets, a manual clock
 * for its timers): the status codes and retry information of the OTLP specification, and a
 * server that stays up and gives back what a bad client held.
 */
const TOKEN = 'limits-token';
const AUTH = `Bearer ${TOKEN}`;
const OK = 0;
const INVALID_ARGUMENT = 3;
const DEADLINE_EXCEEDED = 4;
const RESOURCE_EXHAUSTED = 8;
const UNIMPLEMENTED = 12;
const UNAVAILABLE = 14;
const UNAUTHENTICATED = 16;

/** Fenra as a sender: takes every batch at once, or (`answers` false) never answers until shutdown. */
class Sender implements TransactionSender {
  readonly sent: PricedTransaction[] = [];
  private readonly answers: boolean;
  constructor(answers = true) {
    this.answers = answers;
  }
  send(txs: readonly PricedTransaction[], o: SendOptions): Promise<SendResult> {
    if (this.answers) {
      this.sent.push(...txs);
      return Promise.resolve({ outcome: { kind: 'accepted', status: 202 }, bytes: 0 });
    }
    return new Promise((resolve) => {
      const done = (): void => resolve({ outcome: { kind: 'aborted', message: 'shutdown' }, bytes: 0 });
      if (o.signal?.aborted) done();
      else o.signal?.addEventListener('abort', done, { once: true });
    });
  }
  close = (): Promise<void> => Promise.resolve();
}

let n = 0;
const hex = (v: number, len: number): string => v.toString(16).padStart(len, '0');

/** One ExportTraceServiceRequest: an LLM call span, under a root span unless `root` is false. */
function request(o: { root?: boolean; pad?: number } = {}): Uint8Array {
  n++;
  const traceId = Buffer.from(hex(0xa000 + n, 32), 'hex');
  const rootId = Buffer.from(hex(n * 2, 16), 'hex');
  const t0 = (1_767_225_600_000n * 1_000_000n).toString();
  const t1 = (1_767_225_601_000n * 1_000_000n).toString();
  const str = (key: string, v: string) => ({ key, value: { stringValue: v } });
  const int = (key: string, v: number) => ({ key, value: { intValue: v } });
  const spans: unknown[] = [
    {
      traceId,
      spanId: Buffer.from(hex(n * 2 + 1, 16), 'hex'),
      parentSpanId: rootId,
      name: 'chat gpt-4o',
      kind: 3,
      startTimeUnixNano: t0,
      endTimeUnixNano: t1,
      attributes: [
        str('gen_ai.operation.name', 'chat'),
        str('gen_ai.provider.name', 'openai'),
        str('gen_ai.request.model', 'gpt-4o'),
        int('gen_ai.usage.input_tokens', 100),
        int('gen_ai.usage.output_tokens', 10),
        ...(o.pad ? [str('padding', 'x'.repeat(o.pad))] : []),
      ],
    },
  ];
  if (o.root !== false)
    spans.push({
      traceId,
      spanId: rootId,
      name: 'POST /chat',
      kind: 2,
      startTimeUnixNano: t0,
      endTimeUnixNano: t1,
      attributes: [str('fenra.billable_customer_id', 'acme')],
    });
  return ExportTraceServiceRequest.encode(
    ExportTraceServiceRequest.fromObject({ resourceSpans: [{ scopeSpans: [{ spans }] }] }),
  ).finish();
}

let sidecar: RunningSidecar | undefined;
const clients: RawOtlpClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await sidecar?.shutdown();
  sidecar = undefined;
});

async function start(
  over: Partial<ServeConfig> = {},
  deps: { sender?: TransactionSender; scheduler?: ManualScheduler } = {},
): Promise<{
  sc: RunningSidecar;
  client: (o?: { gzip?: boolean }) => RawOtlpClient;
  metric: (l: string) => number;
}> {
  const { config } = resolveServeConfig({
    flags: { port: '0', 'grpc-port': 'auto', 'shutdown-timeout-ms': '2000' },
    env: {},
  });
  const sc = await startSidecar(
    { ...config, receiverToken: TOKEN, maxDecompressedBytes: 200 * 1024, ...over },
    { sender: deps.sender ?? new Sender(), destination: 'test', scheduler: deps.scheduler },
  );
  sidecar = sc;
  const address = `127.0.0.1:${sc.grpcAddress!.port}`;
  return {
    sc,
    client: (o = {}) => {
      const c = new RawOtlpClient(address, o);
      clients.push(c);
      return c;
    },
    metric: (line) => {
      const m = new RegExp(`^${line.replace(/[{}"]/g, (c) => `\\${c}`)} (\\d+)$`, 'm').exec(
        sc.metrics.render(),
      );
      return m ? Number(m[1]) : 0;
    },
  };
}

describe('OTLP/gRPC: bad input', () => {
  it('answers INVALID_ARGUMENT to a garbage or truncated message, OK to an empty one, and stays up', async () => {
    const { client } = await start();
    const c = client();
    const good = request();
    expect(
      (await c.export(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]), { token: AUTH })).code,
    ).toBe(INVALID_ARGUMENT);
    const truncated = await c.export(good.subarray(0, Math.floor(good.length / 2)), { token: AUTH });
    expect(truncated.code).toBe(INVALID_ARGUMENT);
    expect(truncated.details).toMatch(/invalid OTLP\/protobuf/);
    expect(retryDelaySeconds(truncated.trailers)).toBeUndefined();
    expect((await c.export(new Uint8Array(0), { token: AUTH })).code).toBe(OK);
    expect((await c.export(good, { token: AUTH })).code).toBe(OK);
  });

  it('answers UNAUTHENTICATED without the token, UNIMPLEMENTED to another method', async () => {
    const { client, metric } = await start();
    const c = client();
    expect((await c.export(request())).code).toBe(UNAUTHENTICATED);
    expect((await c.export(request(), { token: 'Bearer nope' })).code).toBe(UNAUTHENTICATED);
    expect((await c.export(request(), { token: TOKEN })).code).toBe(UNAUTHENTICATED);
    const other = await c.export(request(), {
      token: AUTH,
      path: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
    });
    expect(other.code).toBe(UNIMPLEMENTED);
    expect((await c.export(request(), { token: AUTH })).code).toBe(OK);
    expect(
      metric(
        'fenra_otel_receiver_requests_total{transport="grpc",encoding="protobuf",status="UNAUTHENTICATED"}',
      ),
    ).toBe(3);
  });

  it('refuses a message over --max-decompressed-mb with RESOURCE_EXHAUSTED, not to be retried (no RetryInfo)', async () => {
    const { client, metric } = await start();
    const big = await client().export(request({ pad: 300 * 1024 }), { token: AUTH });
    expect(big.code).toBe(RESOURCE_EXHAUSTED);
    expect(retryDelaySeconds(big.trailers)).toBeUndefined();
    // Small on the wire, over the limit once inflated (a gzip bomb).
    const bomb = await client({ gzip: true }).export(request({ pad: 4 * 1024 * 1024 }), { token: AUTH });
    expect(bomb.code).toBe(RESOURCE_EXHAUSTED);
    expect(
      metric(
        'fenra_otel_receiver_requests_total{transport="grpc",encoding="protobuf",status="RESOURCE_EXHAUSTED"}',
      ),
    ).toBe(2);
    expect((await client({ gzip: true }).export(request(), { token: AUTH })).code).toBe(OK);
  });
});

describe('OTLP/gRPC: pressure, with RetryInfo', () => {
  it('too many request bytes in flight → RESOURCE_EXHAUSTED with RetryInfo (--retry-after-s)', async () => {
    const { client, sc } = await start({ maxInflightBytes: 100 * 1024, retryAfterSeconds: 7 });
    const r = await client().export(request({ pad: 150 * 1024 }), { token: AUTH });
    expect(r.code).toBe(RESOURCE_EXHAUSTED);
    expect(retryDelaySeconds(r.trailers)).toBe(7);
    expect(detailsCode(r.trailers)).toBe(RESOURCE_EXHAUSTED);
    expect(sc.metrics.value('fenra.otel.receiver.inflight_bytes')).toBe(0);
  });

  it('the spool full → UNAVAILABLE with RetryInfo', async () => {
    const { client } = await start({ spoolMaxBytes: 16 * 1024, retryAfterSeconds: 3 });
    const c = client();
    let r;
    for (let i = 0; i < 200; i++) {
      // LLM spans whose root never comes: they stay in the spool.
      r = await c.export(request({ root: false }), { token: AUTH });
      if (r.code !== OK) break;
    }
    expect(r!.code).toBe(UNAVAILABLE);
    expect(r!.details).toMatch(/spool/);
    expect(retryDelaySeconds(r!.trailers)).toBe(3);
    expect(detailsCode(r!.trailers)).toBe(UNAVAILABLE);
  });

  it('the queue to Fenra full → RESOURCE_EXHAUSTED with RetryInfo', async () => {
    // One place in the queue, taken by a batch Fenra never answers.
    const { client } = await start(
      {
        maxQueueSize: 1,
        batchSize: 1,
        delivery: {
          ...resolveServeConfig({ flags: {}, env: {} }).config.delivery,
          maxQueueSize: 1,
          maxExportBatchSize: 1,
        },
      },
      { sender: new Sender(false) },
    );
    const c = client();
    let r;
    for (let i = 0; i < 5; i++) {
      r = await c.export(request(), { token: AUTH });
      if (r.code !== OK) break;
    }
    expect(r!.code).toBe(RESOURCE_EXHAUSTED);
    expect(r!.details).toMatch(/queue/);
    expect(retryDelaySeconds(r!.trailers)).toBe(5);
  });

  it('shutting down: new calls get UNAVAILABLE (retryable)', async () => {
    const { client, sc } = await start();
    const c = client();
    expect((await c.export(request(), { token: AUTH })).code).toBe(OK);
    await sc.shutdown();
    expect((await c.export(request(), { token: AUTH })).code).toBe(UNAVAILABLE);
  });
});

describe('OTLP/gRPC: a client that stalls mid-request', () => {
  it('does not hold up others; after the request timeout its call ends and what it held is released', async () => {
    const clock = new ManualScheduler();
    const { sc, client, metric } = await start({}, { scheduler: clock });
    const session = http2Connect(`http://127.0.0.1:${sc.grpcAddress!.port}`);
    session.on('error', () => {});
    const stream = session.request({
      ':method': 'POST',
      ':path': TRACE_EXPORT_PATH,
      'content-type': 'application/grpc',
      te: 'trailers',
      authorization: AUTH,
    });
    stream.on('error', () => {});
    let status: string | undefined;
    stream.on('response', (h) => (status ??= String(h['grpc-status'] ?? '')));
    stream.on('trailers', (h) => (status ??= String(h['grpc-status'] ?? '')));
    const closed = new Promise<void>((r) => session.once('close', r));
    // A message header announcing 1000 bytes, then 10 of them, then nothing.
    const head = Buffer.alloc(5);
    head.writeUInt32BE(1000, 1);
    stream.write(Buffer.concat([head, Buffer.alloc(10, 1)]));
    await until(() => sc.metrics.value('fenra.otel.grpc.calls') === 1, 'the stalled call to start');

    // Meanwhile the server answers everyone else.
    const other = client();
    expect((await other.export(request(), { token: AUTH })).code).toBe(OK);
    other.close();
    expect(sc.metrics.value('fenra.otel.grpc.calls')).toBe(1);

    clock.advance(29_000);
    expect(sc.metrics.value('fenra.otel.grpc.calls')).toBe(1);
    clock.advance(1_001);
    await closed;
    // The client is told why (if it still reads), then its connection is closed.
    expect(status).toBe(String(DEADLINE_EXCEEDED));
    await until(
      () =>
        sc.metrics.value('fenra.otel.grpc.calls') === 0 &&
        sc.metrics.value('fenra.otel.grpc.connections') === 0,
      'the stalled call and its connection to be released',
    );
    expect(sc.metrics.value('fenra.otel.receiver.inflight_bytes')).toBe(0);
    expect(
      metric(
        'fenra_otel_receiver_requests_total{transport="grpc",encoding="protobuf",status="DEADLINE_EXCEEDED"}',
      ),
    ).toBe(1);
  });
});
