/**
 * Endpoint faults, end to end against the strict fake ingest server (real HTTP on loopback):
 * - through FenraSpanProcessor in a real NodeTracerProvider (the app's view, real time): a
 *   mixed storm of 5xx, 429 + Retry-After, timeouts, resets, a hang and 207 partials while
 *   the app keeps making LLM spans;
 * - through the DeliveryPipeline with a compressed clock (backoffs and probes 100× shorter):
 *   a long outage with the queue overflowing, a key revoked mid-run then restored, a wrong
 *   endpoint (404) fixed server-side, and absurd Retry-After values.
 * Every transaction ends delivered or counted with a reason; copies at the server only where a
 * server fault explains them (a request recorded but never answered); memory stays bounded.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { afterEach, describe, expect, it } from 'vitest';
import type { FenraOptions } from '../../src/config/options.js';
import { resolveConfig } from '../../src/config/library.js';
import { fenraSender } from '../../src/fenra/client.js';
import type { Sleep } from '../../src/internal/sleep.js';
import { abortableSleep } from '../../src/internal/sleep.js';
import { FenraSpanProcessor } from '../../src/otel/span-processor.js';
import type { DeliveryPipelineDeps } from '../../src/pipeline/delivery-config.js';
import { DeliveryPipeline } from '../../src/pipeline/delivery-pipeline.js';
import type { PipelineStats } from '../../src/pipeline/stats.js';
import type { IngestServer, Reply } from '../helpers/ingest-server.js';
import { startIngestServer } from '../helpers/ingest-server.js';
import { makePriced } from '../helpers/priced.js';
import { report, rssSampler } from './summary.js';

const KEY = 'fault-key';
let servers: IngestServer[] = [];

afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function ingest(): Promise<IngestServer> {
  const s = await startIngestServer({ apiKey: KEY });
  servers.push(s);
  return s;
}

/** Distinct span ids recorded by the server, and how many extra copies. */
function recorded(server: IngestServer): { distinct: Set<string>; duplicates: number } {
  const distinct = new Set<string>();
  let duplicates = 0;
  for (const a of server.accepted) {
    const id = `${String(a.transaction.context['trace_id'])}/${String(a.transaction.context['span_id'])}`;
    if (distinct.has(id)) duplicates++;
    else distinct.add(id);
  }
  return { distinct, duplicates };
}

/** Transactions in requests the server recorded but never answered (the only explained copies). */
function unanswered(server: IngestServer): number {
  return server.requests.filter((r) => r.reply === 'hang').reduce((s, r) => s + r.count, 0);
}

/** Transactions in requests whose answer the client did not get (hung, slower than its timeout, cut). */
function answersLost(server: IngestServer): number {
  return server.requests
    .filter((r) => r.reply === 'hang' || r.reply === 'slow' || r.reply === 'reset')
    .reduce((s, r) => s + r.count, 0);
}

const settled = (s: PipelineStats): number =>
  s.accepted +
  Object.values(s.failed).reduce((a, b) => a + b, 0) +
  Object.values(s.dropped).reduce((a, b) => a + b, 0);

const counted = (s: PipelineStats): number => settled(s) - s.accepted;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('endpoint faults through FenraSpanProcessor (the app view)', () => {
  it('a storm of 5xx, 429 + Retry-After, timeouts, resets, a hang and 207s: nothing lost, no unexplained copy, no exception in the app', async () => {
    const server = await ingest();
    const storm: Reply[] = [
      { kind: 'status', status: 503 },
      { kind: 'status', status: 500 },
      { kind: 'reset' },
      { kind: 'status', status: 429, retryAfter: '1' },
      { kind: 'slow', delayMs: 1_500 },
      { kind: 'status', status: 502 },
      { kind: 'partial', failed: [0, 3, 7].map((index) => ({ index, retryable: true })) },
      { kind: 'hang' },
      { kind: 'status', status: 504 },
      { kind: 'partial', failed: [{ index: 1, retryable: false }] },
      { kind: 'reset' },
      { kind: 'status', status: 503, retryAfter: '1' },
    ];
    server.script(storm);
    const fenra = new FenraSpanProcessor({
      apiKey: KEY,
      endpoint: server.url,
      maxExportBatchSize: 20,
      scheduledDelayMillis: 50,
      requestTimeoutMillis: 400,
      maxQueueSize: 5_000,
    });
    const provider = new NodeTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'faults' }),
      spanProcessors: [fenra],
    });
    const http = provider.getTracer('@opentelemetry/instrumentation-http');
    const openai = provider.getTracer('@opentelemetry/instrumentation-openai', '0.21.0');
    const rss = rssSampler();
    const sent = 600;
    let appErrors = 0;
    let maxQueue = 0;
    for (let i = 0; i < sent; i++) {
      try {
        const root = http.startSpan('POST /chat', {
          kind: SpanKind.SERVER,
          attributes: { 'http.route': '/chat', 'fenra.billable_customer_id': `cust_${i % 7}` },
        });
        const llm = openai.startSpan(
          'chat gpt-4o-mini',
          {
            kind: SpanKind.CLIENT,
            attributes: {
              'gen_ai.operation.name': 'chat',
              'gen_ai.system': 'openai',
              'gen_ai.request.model': 'gpt-4o-mini',
              'gen_ai.response.model': 'gpt-4o-mini-2024-07-18',
              'gen_ai.response.id': `chatcmpl-${i}`,
              'gen_ai.usage.input_tokens': 100 + i,
              'gen_ai.usage.output_tokens': 20,
            },
          },
          trace.setSpan(ROOT_CONTEXT, root),
        );
        llm.end();
        root.end();
      } catch {
        appErrors++;
      }
      if (i % 20 === 19) {
        maxQueue = Math.max(maxQueue, fenra.stats().delivery.queueDepth);
        await sleep(10);
      }
    }
    await provider.forceFlush();
    // Retries may outlive one flush (a batch that used its budget goes back to the queue).
    for (let i = 0; i < 20 && settled(fenra.stats().delivery) < sent; i++) await provider.forceFlush();
    const stats = fenra.stats();
    await provider.shutdown();
    const maxRssMb = rss.stop();
    const { distinct, duplicates } = recorded(server);
    const d = stats.delivery;

    expect(appErrors).toBe(0);
    expect(stats.internalErrors).toBe(0);
    expect(stats.billed).toBe(sent);
    expect(d.enqueued).toBe(sent);
    expect(settled(d)).toBe(sent); // each transaction settled exactly once
    // The non-retryable 207 item (if the batch that met that reply had a second item) is counted
    // with its reason; everything else was accepted.
    expect(d.failed.rejected).toBeLessThanOrEqual(1);
    expect(d.failed.http_error).toBe(0);
    expect(d.accepted + d.failed.rejected).toBe(sent); // nothing dropped
    // What we call accepted is at the server; beyond it (an item later refused, or a second
    // copy) only what the hung request recorded without answering.
    expect(distinct.size).toBeGreaterThanOrEqual(d.accepted);
    expect(distinct.size - d.accepted + duplicates).toBeLessThanOrEqual(unanswered(server));
    expect(server.pending()).toBe(0); // every scripted fault was met
    expect(maxQueue).toBeLessThanOrEqual(5_000);
    report({
      scenario: 'processor: mixed 5xx/429/timeout/reset/207 storm',
      acknowledged: sent,
      delivered: distinct.size,
      duplicates,
      possibleDuplicates: d.possibleDuplicates,
      inFlightBound: answersLost(server),
      // Refused for good, and not at the server by another copy.
      counted: Math.min(counted(d), sent - distinct.size),
      maxRssMb,
      note: `${d.retries} retries, ${server.requests.length} requests`,
    });
  });
});

/** A loopback port nobody listens on (connections refused). */
async function deadPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe('an unreachable endpoint through FenraSpanProcessor', () => {
  it('keeps memory bounded and counts every transaction while 20,000 LLM calls happen with Fenra down', async () => {
    const port = await deadPort();
    const fenra = new FenraSpanProcessor({
      apiKey: KEY,
      endpoint: `http://127.0.0.1:${port}/usage/transactions`,
      requestTimeoutMillis: 200,
      exportTimeoutMillis: 1_000,
      scheduledDelayMillis: 100,
    });
    const provider = new NodeTracerProvider({ spanProcessors: [fenra] });
    const openai = provider.getTracer('@opentelemetry/instrumentation-openai', '0.21.0');
    const rss = rssSampler();
    const before = process.memoryUsage.rss();
    const sent = 20_000;
    let appErrors = 0;
    let maxQueue = 0;
    for (let i = 0; i < sent; i++) {
      try {
        openai
          .startSpan('chat gpt-4o-mini', {
            kind: SpanKind.CLIENT,
            attributes: {
              'gen_ai.operation.name': 'chat',
              'gen_ai.system': 'openai',
              'gen_ai.request.model': 'gpt-4o-mini',
              'gen_ai.response.id': `chatcmpl-down-${i}`,
              'gen_ai.usage.input_tokens': 1000,
              'gen_ai.usage.output_tokens': 10,
              'fenra.billable_customer_id': 'acme',
            },
          })
          .end();
      } catch {
        appErrors++;
      }
      if (i % 500 === 499) {
        maxQueue = Math.max(maxQueue, fenra.stats().delivery.queueDepth);
        await sleep(50);
      }
    }
    const mid = fenra.stats().delivery;
    await provider.shutdown();
    const maxRssMb = rss.stop();
    const d = fenra.stats().delivery;

    expect(appErrors).toBe(0);
    expect(fenra.stats().internalErrors).toBe(0);
    expect(maxQueue).toBeLessThanOrEqual(2_048); // the default maxQueueSize
    expect(mid.dropped.queue_full).toBeGreaterThan(0);
    expect(d.accepted).toBe(0);
    expect(settled(d)).toBe(sent); // every one counted with a reason after shutdown
    expect(d.queueDepth).toBe(0);
    expect(maxRssMb - before / 1024 / 1024).toBeLessThan(150);
    report({
      scenario: 'processor: Fenra unreachable, 20k calls',
      acknowledged: sent,
      delivered: 0,
      duplicates: 0,
      possibleDuplicates: d.possibleDuplicates,
      counted: counted(d),
      maxRssMb,
      note: `dropped: ${Object.entries(d.dropped)
        .filter(([, n]) => n > 0)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ')}`,
    });
  });
});

/** The pipeline as the entry points build it: a resolved config and Fenra's client as the sender. */
function fenraPipeline(options: FenraOptions, deps: DeliveryPipelineDeps): DeliveryPipeline {
  const config = resolveConfig(options, {});
  return new DeliveryPipeline(config, { sender: fenraSender(config), ...deps });
}

/** A clock running `k` times faster for the pipeline's waits and deadlines. */
function compressed(k: number): { now: () => number; sleep: Sleep } {
  const t0 = Date.now();
  return {
    now: () => t0 + (Date.now() - t0) * k,
    sleep: (ms, signal) => abortableSleep(ms / k, signal),
  };
}

describe('endpoint faults through the DeliveryPipeline (compressed time)', () => {
  it('a long outage (connection resets and 503s for ~10 virtual minutes) with the queue overflowing: every transaction delivered or counted as dropped, memory bounded', async () => {
    const server = await ingest();
    const outage = 400;
    server.script(
      Array.from({ length: outage }, (_, i): Reply =>
        i % 3 === 0 ? { kind: 'reset' } : { kind: 'status', status: 503 },
      ),
    );
    const clock = compressed(100);
    const maxQueueSize = 1_000;
    const pipeline = fenraPipeline(
      {
        apiKey: KEY,
        endpoint: server.url,
        maxQueueSize,
        maxExportBatchSize: 50,
        scheduledDelayMillis: 100,
        requestTimeoutMillis: 300,
      },
      { ...clock, flushTimeoutMillis: 120_000 },
    );
    const rss = rssSampler();
    let sent = 0;
    let maxDepth = 0;
    // The app keeps producing through the outage and a little after it.
    let after = 0;
    while (after < 20) {
      for (const t of Array.from({ length: 25 }, () => makePriced())) {
        pipeline.enqueue([t]);
        sent++;
      }
      maxDepth = Math.max(maxDepth, pipeline.stats().queueDepth);
      if (server.pending() === 0) after++;
      await sleep(10);
    }
    await pipeline.forceFlush();
    await pipeline.shutdown();
    const maxRssMb = rss.stop();
    const s = pipeline.stats();
    const { distinct, duplicates } = recorded(server);

    expect(settled(s)).toBe(sent);
    expect(s.accepted).toBe(distinct.size);
    expect(s.dropped.queue_full).toBeGreaterThan(0); // the outage outlasted the queue...
    expect(s.accepted + s.dropped.queue_full).toBe(sent); // ...and that is the only loss, counted
    expect(duplicates).toBe(0);
    expect(maxDepth).toBeLessThanOrEqual(maxQueueSize);
    report({
      scenario: 'pipeline: long outage, queue overflow',
      acknowledged: sent,
      delivered: distinct.size,
      duplicates,
      possibleDuplicates: s.possibleDuplicates,
      counted: counted(s),
      maxRssMb,
      note: `${s.dropped.queue_full} dropped queue_full, ${s.requests} requests`,
    });
  });

  it('a key revoked mid-run, then restored: sending stops (one request per probe), data is kept, and resumes', async () => {
    const server = await ingest();
    const clock = compressed(100);
    const pipeline = fenraPipeline(
      {
        apiKey: KEY,
        endpoint: server.url,
        maxQueueSize: 10_000,
        maxExportBatchSize: 50,
        scheduledDelayMillis: 50,
        requestTimeoutMillis: 500,
      },
      { ...clock, unauthorizedProbeMillis: 60_000, flushTimeoutMillis: 60_000 },
    );
    const rss = rssSampler();
    let sent = 0;
    const produce = async (rounds: number): Promise<void> => {
      for (let r = 0; r < rounds; r++) {
        pipeline.enqueue(Array.from({ length: 20 }, () => makePriced()));
        sent += 20;
        await sleep(5);
      }
    };
    await produce(20);
    server.setApiKey('rotated-key'); // the key is revoked
    const before = server.requests.length;
    await produce(50);
    expect(pipeline.state).toBe('unauthorized');
    const during = server.requests.length - before;
    // 50 rounds ≈ 250 ms real = 25 virtual s: at most the request that met the 401 + probes.
    expect(during).toBeLessThanOrEqual(5);
    server.setApiKey(KEY); // the key is fixed server-side (or the operator restored it)
    await produce(10);
    for (let i = 0; i < 40 && pipeline.stats().accepted < sent; i++) await sleep(50);
    await pipeline.forceFlush();
    await pipeline.shutdown();
    const maxRssMb = rss.stop();
    const s = pipeline.stats();
    const { distinct, duplicates } = recorded(server);
    expect(settled(s)).toBe(sent);
    expect(s.accepted).toBe(sent);
    expect(distinct.size).toBe(sent);
    expect(duplicates).toBe(0);
    report({
      scenario: 'pipeline: key revoked mid-run, restored',
      acknowledged: sent,
      delivered: distinct.size,
      duplicates,
      possibleDuplicates: s.possibleDuplicates,
      counted: counted(s),
      maxRssMb,
      note: `${during} requests while revoked`,
    });
  });

  it('the endpoint answers 404 for a while (a path not deployed yet), then accepts: data kept, one request per probe, nothing refused, nothing copied', async () => {
    const server = await ingest();
    server.script(Array.from({ length: 6 }, (): Reply => ({ kind: 'status', status: 404 })));
    const clock = compressed(100);
    const pipeline = fenraPipeline(
      {
        apiKey: KEY,
        endpoint: server.url,
        maxQueueSize: 5_000,
        maxExportBatchSize: 50,
        scheduledDelayMillis: 50,
        requestTimeoutMillis: 500,
      },
      { ...clock, unauthorizedProbeMillis: 60_000, flushTimeoutMillis: 60_000 },
    );
    const rss = rssSampler();
    let sent = 0;
    let blockedSeen = false;
    for (let r = 0; r < 80; r++) {
      pipeline.enqueue(Array.from({ length: 10 }, () => makePriced()));
      sent += 10;
      blockedSeen ||= pipeline.state === 'endpoint_rejected';
      await sleep(10);
    }
    for (let i = 0; i < 60 && pipeline.stats().accepted < sent; i++) await sleep(50);
    await pipeline.forceFlush();
    await pipeline.shutdown();
    const maxRssMb = rss.stop();
    const s = pipeline.stats();
    const { distinct, duplicates } = recorded(server);
    expect(blockedSeen).toBe(true);
    expect(server.pending()).toBe(0);
    expect(server.requests.filter((q) => q.status === 404)).toHaveLength(6); // the first, then probes
    expect(s.failed).toEqual({ rejected: 0, http_error: 0 });
    expect(s.accepted).toBe(sent);
    expect(distinct.size).toBe(sent);
    expect(duplicates).toBe(0);
    report({
      scenario: 'pipeline: wrong endpoint (404) until fixed',
      acknowledged: sent,
      delivered: distinct.size,
      duplicates,
      possibleDuplicates: s.possibleDuplicates,
      counted: counted(s),
      maxRssMb,
      note: `${server.requests.length} requests`,
    });
  });

  it('absurd Retry-After values (9999999 s, the year 9999): no retry storm, no timer overflow, delivered after the capped pause', async () => {
    const server = await ingest();
    server.script([
      { kind: 'status', status: 503, retryAfter: '9999999' },
      { kind: 'status', status: 429, retryAfter: new Date(Date.UTC(9999, 0, 1)).toUTCString() },
    ]);
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => void warnings.push(w);
    process.on('warning', onWarning);
    const clock = compressed(100); // the 5-minute cap lasts 3 s
    const rss = rssSampler();
    const pipeline = fenraPipeline(
      { apiKey: KEY, endpoint: server.url, maxExportBatchSize: 50, scheduledDelayMillis: 50 },
      { ...clock, flushTimeoutMillis: 60_000 },
    );
    try {
      const sent = 100;
      pipeline.enqueue(Array.from({ length: sent }, () => makePriced()));
      for (let i = 0; i < 200 && pipeline.stats().accepted < sent; i++) await sleep(50);
      await pipeline.shutdown();
      const s = pipeline.stats();
      const { distinct, duplicates } = recorded(server);
      expect(s.accepted).toBe(sent);
      expect(duplicates).toBe(0);
      // Two refusals, each followed by one pause: a handful of requests, not thousands.
      expect(server.requests.length).toBeLessThanOrEqual(6);
      expect(warnings.filter((w) => w.name === 'TimeoutOverflowWarning')).toEqual([]);
      report({
        scenario: 'pipeline: absurd Retry-After',
        acknowledged: sent,
        delivered: distinct.size,
        duplicates,
        possibleDuplicates: s.possibleDuplicates,
        counted: counted(s),
        maxRssMb: rss.stop(),
        note: `${server.requests.length} requests`,
      });
    } finally {
      process.off('warning', onWarning);
    }
  });
});
