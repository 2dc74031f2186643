import { createServer } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FenraOptions } from '../../src/config/options.js';
import { resolveConfig } from '../../src/config/library.js';
import { resolveServeConfig } from '../../src/config/serve.js';
import type { PricedTransaction } from '../../src/stage/priced-transaction.js';
import type { DeliveryPipelineDeps } from '../../src/pipeline/delivery-config.js';
import type { Settlement } from '../../src/pipeline/delivery-pipeline.js';
import { DeliveryPipeline, MAX_PAUSE_MS } from '../../src/pipeline/delivery-pipeline.js';
import type { CapturedDiag } from '../helpers/capture-diag.js';
import { captureDiag } from '../helpers/capture-diag.js';
import type { IngestServer } from '../helpers/ingest-server.js';
import { startIngestServer } from '../helpers/ingest-server.js';
import { makeBatch, makePriced, spanIds } from '../helpers/priced.js';
import type { RecordingSleep } from '../helpers/recording-sleep.js';
import { recordingSleep } from '../helpers/recording-sleep.js';
import { renderTransaction } from '../../src/fenra/render-transaction.js';
import { fenraSender } from '../../src/fenra/client.js';

let server: IngestServer;
let logs: CapturedDiag;
let sleeper: RecordingSleep;
const pipelines: DeliveryPipeline[] = [];

beforeEach(async () => {
  logs = captureDiag();
  server = await startIngestServer({ apiKey: 'test-key' });
  sleeper = recordingSleep(60_000);
});

afterEach(async () => {
  await Promise.all(pipelines.splice(0).map((p) => p.shutdown()));
  await server.close();
  logs.restore();
});

/** The pipeline as an entry point builds it: options from a resolved config, Fenra's client as the sender. */
function pipeline(options: FenraOptions = {}, deps: DeliveryPipelineDeps = {}): DeliveryPipeline {
  const config = resolveConfig(
    {
      apiKey: 'test-key',
      endpoint: server.url,
      maxExportBatchSize: 10,
      scheduledDelayMillis: 60_000,
      exportTimeoutMillis: 10_000,
      requestTimeoutMillis: 2_000,
      ...options,
    },
    {},
  );
  const p = new DeliveryPipeline(config, {
    sender: fenraSender(config),
    sleep: sleeper.sleep,
    random: () => 0.5,
    ...deps,
  });
  pipelines.push(p);
  return p;
}

function settlements(): {
  log: { ids: string[]; outcome: Settlement }[];
  onSettled: DeliveryPipelineDeps['onSettled'];
} {
  const log: { ids: string[]; outcome: Settlement }[] = [];
  return { log, onSettled: (items, outcome) => log.push({ ids: spanIds(items), outcome }) };
}

const acceptedIds = (): string[] => spanIds(server.accepted).sort();

describe('DeliveryPipeline against the ingest server', () => {
  it('sends a bulk request with the documented headers and counts it', async () => {
    const p = pipeline();
    const items = makeBatch(5);
    p.enqueue(items);
    await p.forceFlush();
    expect(acceptedIds()).toEqual(spanIds(items).sort());
    const req = server.requests[0];
    expect(req?.headers['x-api-key']).toBe('test-key');
    expect(req?.headers['content-type']).toBe('application/json');
    expect(req?.headers['user-agent']).toMatch(/^@fenra\/otel\/\d+\.\d+\.\d+/);
    const s = p.stats();
    expect(s).toMatchObject({
      enqueued: 5,
      sent: 5,
      accepted: 5,
      requests: 1,
      retries: 0,
      queueDepth: 0,
      inFlight: 0,
    });
    expect(s.bytes).toBe(req?.bytes);
    expect(s.estimatedUsd).toBeCloseTo(0.0005, 10);
  });

  it('sends a batch as soon as maxExportBatchSize is reached', async () => {
    const p = pipeline({ maxExportBatchSize: 3 });
    p.enqueue(makeBatch(3));
    await server.waitForRequests(1);
    expect(server.requests[0]?.count).toBe(3);
    await p.forceFlush();
    expect(p.stats().accepted).toBe(3);
  });

  it('sends a partial batch after scheduledDelayMillis', async () => {
    const p = pipeline({ scheduledDelayMillis: 20 });
    p.enqueue(makeBatch(2));
    await server.waitForRequests(1);
    expect(server.requests[0]?.count).toBe(2);
  });

  it('keeps at most concurrencyLimit requests in flight', async () => {
    server.script(Array.from({ length: 6 }, () => ({ kind: 'slow' as const, delayMs: 50 })));
    const p = pipeline({ maxExportBatchSize: 2, concurrencyLimit: 2 });
    const items = makeBatch(12);
    p.enqueue(items);
    expect(p.spaceLeft()).toBe(2048 - 12); // batches leave on a microtask, off the caller's stack
    await p.forceFlush();
    expect(server.requests).toHaveLength(6);
    expect(server.maxConcurrent()).toBe(2);
    expect(acceptedIds()).toEqual(spanIds(items).sort());
  });

  it('retries 5xx and delivers each transaction once', async () => {
    server.script([
      { kind: 'status', status: 500 },
      { kind: 'status', status: 502 },
    ]);
    const p = pipeline();
    const items = makeBatch(4);
    p.enqueue(items);
    await p.forceFlush();
    expect(acceptedIds()).toEqual(spanIds(items).sort());
    expect(server.requests).toHaveLength(3);
    expect(p.stats()).toMatchObject({ accepted: 4, retries: 2, requests: 3, sent: 12 });
    expect(sleeper.delays).toEqual([1000, 1500]);
  });

  it('honours Retry-After on a 503', async () => {
    server.script([{ kind: 'status', status: 503, retryAfter: '7' }]);
    const p = pipeline();
    p.enqueue(makeBatch(2));
    await p.forceFlush();
    expect(sleeper.delays).toEqual([7000]);
    expect(server.accepted).toHaveLength(2);
  });

  it('honours Retry-After on a 429', async () => {
    server.script([{ kind: 'status', status: 429, retryAfter: '3' }]);
    const p = pipeline();
    p.enqueue(makeBatch(1));
    await p.forceFlush();
    expect(sleeper.delays).toEqual([3000]);
    expect(server.accepted).toHaveLength(1);
  });

  it('on a 207 resends only the retryable failures and reports the rest', async () => {
    server.script([
      {
        kind: 'partial',
        failed: [
          { index: 1, retryable: true },
          { index: 3, retryable: false },
        ],
      },
    ]);
    const { log, onSettled } = settlements();
    const p = pipeline({}, { onSettled });
    const items = makeBatch(5);
    p.enqueue(items);
    await p.forceFlush();
    const ids = spanIds(items);
    expect(acceptedIds()).toEqual([ids[0], ids[1], ids[2], ids[4]].sort());
    expect(server.requests.map((r) => r.count)).toEqual([5, 1]);
    expect(p.stats()).toMatchObject({ accepted: 4, failed: { rejected: 1 }, retries: 1 });
    expect(log.filter((l) => l.outcome.kind === 'failed').flatMap((l) => l.ids)).toEqual([ids[3]]);
    expect(log.flatMap((l) => l.ids).sort()).toEqual([...ids].sort());
    expect(logs.messages('error')).toHaveLength(1);
  });

  it('isolates the one transaction a server rule refuses (400) by bisection', async () => {
    server.setRule((t) =>
      t.model === 'forbidden-model' ? 'model not enabled for this organization' : undefined,
    );
    const p = pipeline();
    const good = makeBatch(7);
    const bad = makePriced({ model: 'forbidden-model' });
    p.enqueue([...good.slice(0, 5), bad, ...good.slice(5)]);
    await p.forceFlush();
    expect(acceptedIds()).toEqual(spanIds(good).sort());
    expect(p.stats().failed.rejected).toBe(1);
    const errors = logs.messages('error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('model not enabled');
  });

  it('on 401 stops sending, logs one error, keeps the queue, and resumes after a probe with a fixed key', async () => {
    server.setApiKey('another-key');
    const p = pipeline();
    p.enqueue(makeBatch(3));
    await p.forceFlush();
    expect(p.state).toBe('unauthorized');
    expect(p.stats().state).toBe('unauthorized');
    const errors = logs.messages('error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('Fenra rejected the API key');
    expect(errors[0]).toContain('FENRA_API_KEY');
    expect(logs.text()).not.toContain('test-key');

    const requestsAfter401 = server.requests.length;
    p.enqueue(makeBatch(4));
    await p.forceFlush();
    expect(server.requests).toHaveLength(requestsAfter401);
    expect(p.stats().queueDepth).toBe(7);
    expect(sleeper.delays).toContain(60_000);

    server.setApiKey('test-key');
    sleeper.release();
    await server.waitForRequests(requestsAfter401 + 1);
    await p.forceFlush();
    expect(p.state).toBe('running');
    expect(server.accepted).toHaveLength(7);
    expect(logs.messages('error')).toHaveLength(1);
  });

  it('after 401 says what is kept, that it probes, and that the key needs a restart unless re-enabled', async () => {
    server.setApiKey('another-key');
    const p = pipeline();
    p.enqueue(makeBatch(1));
    await p.forceFlush();
    const [error] = logs.messages('error');
    expect(error).toContain('transactions are kept in memory (up to 2048) meanwhile');
    expect(error).toContain('probes Fenra every 60 s');
    expect(error).toMatch(/fix FENRA_API_KEY \(or the apiKey option\) and restart/);
    expect(error).toContain('re-enabled in Fenra, sending resumes by itself');
  });

  it('on 404 (wrong endpoint) keeps the data, stops, logs once, probes, and resumes', async () => {
    server.script([{ kind: 'status', status: 404 }]);
    const { log, onSettled } = settlements();
    const p = pipeline({}, { onSettled });
    p.enqueue(makeBatch(3));
    await p.forceFlush();
    expect(p.state).toBe('endpoint_rejected');
    p.enqueue(makeBatch(2));
    await p.forceFlush();
    expect(server.requests).toHaveLength(1);
    expect(p.stats()).toMatchObject({ queueDepth: 5, failed: { http_error: 0 } });
    expect(log).toEqual([]);
    const errors = logs.messages('error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(`${server.url} answered HTTP 404`);
    expect(errors[0]).toContain('FENRA_ENDPOINT');
    expect(sleeper.delays).toContain(60_000);

    sleeper.release(); // the probe: the server now answers
    await server.waitForRequests(2);
    await p.forceFlush();
    expect(p.state).toBe('running');
    expect(server.accepted).toHaveLength(5);
    expect(logs.messages('error')).toHaveLength(1);
  });

  it.each([405, 410, 301])('treats HTTP %i as a wrong endpoint too', async (status) => {
    server.script([{ kind: 'status', status }]);
    const p = pipeline();
    p.enqueue(makeBatch(1));
    await p.forceFlush();
    expect(p.state).toBe('endpoint_rejected');
    expect(p.stats().queueDepth).toBe(1);
  });

  it('on 413 splits the batch; a single transaction answered 413 is failed and counted', async () => {
    const small = makeBatch(4);
    const big = makePriced({ customer: 'x'.repeat(3_000) });
    const items = [...small, big];
    const limit = JSON.stringify({ transactions: [renderTransaction(big)] }).length - 1;
    await server.close();
    server = await startIngestServer({ apiKey: 'test-key', maxBodyBytes: limit });
    const { log, onSettled } = settlements();
    const p = pipeline({}, { onSettled });
    p.enqueue(items);
    await p.forceFlush();
    expect(acceptedIds()).toEqual(spanIds(small).sort());
    expect(p.stats()).toMatchObject({ accepted: 4, failed: { rejected: 1 }, state: 'running' });
    const failed = log.filter((l) => l.outcome.kind === 'failed');
    expect(failed.flatMap((l) => l.ids)).toEqual(spanIds([big]));
    expect(failed[0]!.outcome).toMatchObject({ message: expect.stringContaining('HTTP 413') });
  });

  it('honours a Retry-After HTTP date through the real client and server', async () => {
    // Second resolution: a date 5 s ahead means a wait of (4, 5] s.
    server.script([{ kind: 'status', status: 503, retryAfter: new Date(Date.now() + 5_000).toUTCString() }]);
    const p = pipeline({ exportTimeoutMillis: 60_000 });
    p.enqueue(makeBatch(1));
    await p.forceFlush();
    expect(sleeper.delays).toHaveLength(1);
    expect(sleeper.delays[0]).toBeGreaterThan(3_000);
    expect(sleeper.delays[0]).toBeLessThanOrEqual(5_000);
    expect(server.accepted).toHaveLength(1);
  });

  it('a huge Retry-After: no retry storm, no timer overflow, a pause capped at MAX_PAUSE_MS', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => void warnings.push(w);
    process.on('warning', onWarning);
    try {
      server.script(
        Array.from({ length: 20 }, () => ({ kind: 'status' as const, status: 503, retryAfter: '9999999' })),
      );
      // Real timers: before the cap the pause overflowed to 1 ms and the queue was resent at once.
      const p = pipeline({}, { sleep: undefined as never, flushTimeoutMillis: 300 });
      p.enqueue(makeBatch(2));
      await p.forceFlush();
      expect(server.requests).toHaveLength(1);
      expect(p.stats()).toMatchObject({ queueDepth: 2, requeued: 1, retries: 0 });
      await new Promise((r) => setImmediate(r));
      expect(warnings.filter((w) => w.name === 'TimeoutOverflowWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('pauses at most MAX_PAUSE_MS after a huge Retry-After', async () => {
    server.script([
      { kind: 'status', status: 429, retryAfter: new Date(Date.UTC(9999, 0, 1)).toUTCString() },
    ]);
    const p = pipeline({}, { flushTimeoutMillis: 300 });
    p.enqueue(makeBatch(1));
    await p.forceFlush();
    expect(sleeper.delays).toEqual([MAX_PAUSE_MS]);
    expect(MAX_PAUSE_MS).toBeLessThanOrEqual(2 ** 31 - 1);
  });

  it('reuses one keep-alive connection for successive requests', async () => {
    const p = pipeline({ concurrencyLimit: 1 });
    for (let i = 0; i < 4; i++) {
      p.enqueue(makeBatch(2));
      await p.forceFlush();
    }
    expect(server.requests).toHaveLength(4);
    expect(server.connections()).toBe(1);
  });

  it('enqueueAndWait sends at once and resolves when Fenra answered for those items', async () => {
    server.script([{ kind: 'status', status: 500 }]);
    const p = pipeline(); // scheduledDelayMillis 60 s: only the wait makes it leave now
    const items = makeBatch(3);
    await p.enqueueAndWait(items);
    expect(acceptedIds()).toEqual(spanIds(items).sort());
    expect(p.stats()).toMatchObject({ accepted: 3, retries: 1, queueDepth: 0 });
  });

  it('enqueueAndWait resolves when sending is paused (refused key), the items kept', async () => {
    server.setApiKey('another-key');
    const p = pipeline();
    await p.enqueueAndWait(makeBatch(2));
    expect(p.stats()).toMatchObject({ state: 'unauthorized', queueDepth: 2 });
    await p.enqueueAndWait(makeBatch(1)); // already paused: at once
    expect(server.requests).toHaveLength(1);
  });

  it('enqueueAndWait resolves for items dropped at once (queue full)', async () => {
    server.setApiKey('another-key');
    const p = pipeline({ maxQueueSize: 2, maxExportBatchSize: 2 });
    await p.enqueueAndWait(makeBatch(2));
    await p.enqueueAndWait(makeBatch(3));
    expect(p.stats().dropped.queue_full).toBe(3);
  });

  it('retries after a response slower than the request timeout', async () => {
    server.script([{ kind: 'slow', delayMs: 1_500 }]);
    const p = pipeline({ requestTimeoutMillis: 200 });
    const items = makeBatch(2);
    p.enqueue(items);
    await p.forceFlush();
    expect(p.stats()).toMatchObject({ accepted: 2, retries: 1 });
    expect(new Set(acceptedIds())).toEqual(new Set(spanIds(items)));
  });

  it('retries after a connection reset', async () => {
    server.script([{ kind: 'reset' }]);
    const p = pipeline();
    const items = makeBatch(3);
    p.enqueue(items);
    await p.forceFlush();
    expect(acceptedIds()).toEqual(spanIds(items).sort());
    expect(p.stats()).toMatchObject({ accepted: 3, retries: 1, requests: 2 });
  });

  it('resends what the server queued but never answered (a possible duplicate, counted once locally)', async () => {
    server.script([{ kind: 'hang' }]);
    const p = pipeline({ requestTimeoutMillis: 200 });
    const items = makeBatch(2);
    p.enqueue(items);
    await p.forceFlush();
    expect(p.stats()).toMatchObject({ accepted: 2, possibleDuplicates: 2 });
    expect(server.accepted).toHaveLength(4);
    expect(new Set(acceptedIds())).toEqual(new Set(spanIds(items)));
  });

  it('forceFlush resolves only after the server answered', async () => {
    server.script([{ kind: 'slow', delayMs: 300 }]);
    const p = pipeline();
    p.enqueue(makeBatch(3));
    await p.forceFlush();
    expect(server.accepted).toHaveLength(3);
    expect(server.requests[0]?.status).toBe(202);
  });

  it('with the endpoint down throws nothing, keeps the queue bounded and counts every drop', async () => {
    sleeper = recordingSleep(5_000); // hold the pause after a batch gives up
    const port = await closedPort();
    const { log, onSettled } = settlements();
    const p = pipeline(
      { endpoint: `http://127.0.0.1:${port}/usage/transactions`, maxQueueSize: 20, exportTimeoutMillis: 300 },
      { onSettled, flushTimeoutMillis: 300 },
    );
    for (let i = 0; i < 10; i++) expect(() => p.enqueue(makeBatch(5))).not.toThrow();
    await p.forceFlush();
    const s = p.stats();
    expect(s.accepted).toBe(0);
    // The queue's capacity counts what is in flight: it never holds more than maxQueueSize.
    expect(s.queueDepth + s.inFlight).toBeLessThanOrEqual(20);
    expect(s.dropped.queue_full).toBe(30);
    expect(s.requeued).toBeGreaterThan(0);
    expect(sleeper.delays).toContain(5_000);
    await p.shutdown();
    const after = p.stats();
    const dropped = Object.values(after.dropped).reduce((a, b) => a + b, 0);
    expect(dropped).toBe(50);
    expect(log.flatMap((l) => l.ids)).toHaveLength(50);
    expect(after.state).toBe('shut_down');
  });

  it('names settings as the mode in use spells them (serve: its flags and variables, no code option)', async () => {
    sleeper = recordingSleep(5_000); // hold the pause after the batch gives up
    const port = await closedPort();
    const { config, problems } = resolveServeConfig({
      flags: {
        endpoint: `http://127.0.0.1:${port}/usage/transactions`,
        'export-timeout-ms': '300',
        'max-queue': '3',
        'batch-size': '3',
      },
      env: { FENRA_API_KEY: 'k' },
    });
    expect(problems).toEqual([]);
    const p = new DeliveryPipeline(config.delivery, {
      sender: fenraSender(config.delivery),
      sleep: sleeper.sleep,
      random: () => 0.5,
      flushTimeoutMillis: 300,
    });
    pipelines.push(p);
    p.enqueue(makeBatch(3));
    await p.forceFlush(); // gives up within the budget: back to the queue
    p.enqueue(makeBatch(2)); // the queue is full
    const warns = logs.messages('warn').join('\n');
    // The problem once, with its cause (not the retry budget it used up: said once is enough).
    expect(warns).toContain(
      `Cannot deliver to Fenra (http://127.0.0.1:${port}/usage/transactions): connection refused by 127.0.0.1:${port}: nothing listens there (ECONNREFUSED). 3 transaction(s) at risk`,
    );
    expect(warns.match(/Cannot deliver/g)).toHaveLength(1);
    expect(warns).toContain(
      'the queue is full at 3 transactions, the bound set by --max-queue or FENRA_MAX_QUEUE_SIZE;',
    );
    expect(logs.text()).not.toMatch(/exportTimeoutMillis|maxQueueSize|option/);
  });

  it('drops the newest transactions when the queue is full, with one rate-limited warning', async () => {
    server.setApiKey('another-key');
    const p = pipeline({ maxQueueSize: 5, maxExportBatchSize: 5 });
    p.enqueue(makeBatch(5));
    await p.forceFlush(); // 401: the five stay queued
    logs.clear();
    p.enqueue(makeBatch(3));
    p.enqueue(makeBatch(2));
    const s = p.stats();
    expect(s.queueDepth).toBe(5);
    expect(s.dropped.queue_full).toBe(5);
    const warns = logs.messages('warn');
    expect(warns).toHaveLength(1);
    expect(warns[0]).toContain(
      'the queue is full at 5 transactions, the bound set by FENRA_MAX_QUEUE_SIZE (or the maxQueueSize option)',
    );
  });

  it('shuts down once: repeat calls share the promise, later work is dropped and counted', async () => {
    const p = pipeline();
    p.enqueue(makeBatch(2));
    const first = p.shutdown();
    expect(p.shutdown()).toBe(first);
    await first;
    expect(server.accepted).toHaveLength(2);
    expect(p.forceFlush()).toBe(first);
    p.enqueue(makeBatch(1));
    expect(p.stats()).toMatchObject({ state: 'shut_down', dropped: { shutdown: 1 } });
    await p.shutdown();
  });

  it('shutdown cuts a pending Retry-After wait and counts what was not delivered', async () => {
    sleeper = recordingSleep(20_000);
    server.script([{ kind: 'status', status: 503, retryAfter: '30' }]);
    const { log, onSettled } = settlements();
    const p = pipeline({ exportTimeoutMillis: 50_000 }, { onSettled, flushTimeoutMillis: 200 });
    p.enqueue(makeBatch(3));
    void p.forceFlush();
    await server.waitForRequests(1);
    await p.shutdown();
    expect(sleeper.delays).toEqual([30_000]);
    expect(server.requests).toHaveLength(1);
    expect(p.stats()).toMatchObject({ state: 'shut_down', accepted: 0, dropped: { shutdown: 3 } });
    expect(log).toEqual([expect.objectContaining({ outcome: { kind: 'dropped', reason: 'shutdown' } })]);
  });

  it('a Fenra-wide 400 (every part of a batch refused) pauses like a 401, keeps everything, probes and delivers after', async () => {
    server.setDefault({ kind: 'reject', message: 'deploy gone wrong' });
    sleeper = recordingSleep(5_000); // hold the probe waits
    const { log, onSettled } = settlements();
    const p = pipeline({ maxExportBatchSize: 16, concurrencyLimit: 1 }, { onSettled });
    const items = makeBatch(40);
    p.enqueue(items);
    await p.forceFlush(1_000);
    expect(p.state).toBe('rejecting_all');
    // One batch bisected down to its first two single transactions: log2(16) + 2 requests.
    expect(server.requests).toHaveLength(6);
    expect(p.stats()).toMatchObject({ failed: { rejected: 0 }, queueDepth: 40, accepted: 0 });
    expect(log).toEqual([]);
    const errors = logs.messages('error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('deploy gone wrong');
    expect(errors[0]).toContain('nothing is discarded');
    expect(sleeper.delays).toContain(5_000);

    server.setDefault(undefined); // Fenra is fixed
    sleeper.release(); // the probe
    await server.waitForRequests(7);
    await p.forceFlush();
    expect(p.state).toBe('running');
    expect(acceptedIds()).toEqual(spanIds(items).sort());
    expect(p.stats()).toMatchObject({ accepted: 40, failed: { rejected: 0 } });
    expect(logs.messages('info').some((m) => m.includes('accepts transactions again'))).toBe(true);
  });

  it('a batch of nothing but refused transactions: paused, the probe tries the others behind it, then the refused ones are proven and failed, the good all delivered', async () => {
    server.setRule((t) =>
      t.model === 'forbidden-model' ? 'model not enabled for this organization' : undefined,
    );
    sleeper = recordingSleep(5_000); // hold the probe waits
    const p = pipeline({ maxExportBatchSize: 4, concurrencyLimit: 1 });
    const bad = makeBatch(4, { model: 'forbidden-model' });
    const good = makeBatch(8);
    p.enqueue([...bad, ...good]);
    await p.forceFlush();
    // Indistinguishable from Fenra refusing everything, so far: paused, nothing failed.
    expect(p.state).toBe('rejecting_all');
    expect(p.stats()).toMatchObject({ accepted: 0, failed: { rejected: 0 }, queueDepth: 12 });
    expect(server.requests).toHaveLength(4);

    sleeper.release(); // the probe: the good ones first, now at the front
    await server.waitForRequests(5);
    await p.forceFlush();
    expect(acceptedIds()).toEqual(spanIds(good).sort());
    // The two refused alone before the good ones were accepted are proven; the two others are
    // refused with the same words in the same batch.
    expect(p.stats()).toMatchObject({
      accepted: 8,
      failed: { rejected: 4 },
      queueDepth: 0,
      state: 'running',
    });
    expect(server.accepted.some((a) => a.transaction.model === 'forbidden-model')).toBe(false);
    expect(logs.messages('error').some((m) => m.includes('model not enabled'))).toBe(true);
  });

  it('a batch that used its retry budget goes back to the front of a full queue, evicting nothing', async () => {
    server.setDefault({ kind: 'status', status: 503 });
    sleeper = recordingSleep(5_000); // hold the pause after the give-up
    const { log, onSettled } = settlements();
    const p = pipeline(
      // A retry would end past the 1 s budget: the batch gives up after its first 503.
      { maxQueueSize: 10, maxExportBatchSize: 5, concurrencyLimit: 1, exportTimeoutMillis: 1_000 },
      { onSettled },
    );
    const first = makeBatch(10);
    p.enqueue(first);
    await p.forceFlush(300);
    expect(p.stats()).toMatchObject({ queueDepth: 10, requeued: 1, dropped: { queue_full: 0 } });
    // Full, the batch in flight included: new ones are refused, the old ones kept.
    expect(p.spaceLeft()).toBe(0);
    p.enqueue(makeBatch(1));
    expect(p.stats().dropped.queue_full).toBe(1);
    server.setDefault(undefined);
    sleeper.release();
    await p.forceFlush();
    expect(acceptedIds()).toEqual(spanIds(first).sort());
    expect(log.filter((l) => l.outcome.kind === 'dropped').flatMap((l) => l.ids)).toHaveLength(1);
  });

  it('Fenra recording a batch but answering after the timeout: the timeout grows, one copy per batch, counted', async () => {
    server.script([{ kind: 'late', delayMs: 600 }]);
    const p = pipeline({ requestTimeoutMillis: 400, exportTimeoutMillis: 20_000 });
    const items = makeBatch(3);
    p.enqueue(items);
    await p.forceFlush();
    // The first attempt timed out (recorded), the second waited long enough for its answer.
    expect(server.accepted).toHaveLength(6);
    expect(p.stats()).toMatchObject({ accepted: 3, possibleDuplicates: 3, retries: 1 });
    server.script([{ kind: 'late', delayMs: 600 }]);
    p.enqueue(makeBatch(2));
    await p.forceFlush();
    // Learnt: the next slow answer arrives within the grown timeout, no copy.
    expect(server.accepted).toHaveLength(8);
    expect(p.stats()).toMatchObject({ accepted: 5, possibleDuplicates: 3 });
  });

  it('tells onSending what each request carries, resends included', async () => {
    server.script([{ kind: 'status', status: 500 }]);
    const p = pipeline();
    const sending: string[][] = [];
    p.onSending((items) => sending.push(spanIds(items)));
    const items = makeBatch(2);
    p.enqueue(items);
    await p.forceFlush();
    expect(sending).toEqual([spanIds(items), spanIds(items)]);
  });

  it('counts transactions found again after a crash as possible duplicates when accepted', async () => {
    const p = pipeline();
    p.enqueue(makeBatch(2), true);
    p.enqueue(makeBatch(1));
    await p.forceFlush();
    expect(p.stats()).toMatchObject({ accepted: 3, possibleDuplicates: 2 });
  });

  it('disabled (no API key): drops and counts everything, sends nothing', async () => {
    const config = resolveConfig({ endpoint: server.url }, {});
    const p = new DeliveryPipeline(config, { sender: fenraSender(config) });
    pipelines.push(p);
    expect(() => p.enqueue(makeBatch(2))).not.toThrow();
    await p.forceFlush();
    await p.shutdown();
    expect(server.requests).toHaveLength(0);
    expect(p.stats().dropped.no_api_key).toBe(2);
    const warns = logs.messages('warn');
    expect(warns).toHaveLength(1);
    expect(warns[0]).toContain('FENRA_API_KEY');
  });

  it('never throws from enqueue, even on input that breaks its contract', () => {
    const p = pipeline();
    expect(() => p.enqueue(null as unknown as PricedTransaction[])).not.toThrow();
    expect(logs.messages('error').some((m) => m.includes('internal error while queueing'))).toBe(true);
  });

  it('survives a throwing onSettled callback', async () => {
    const p = pipeline(
      {},
      {
        onSettled: () => {
          throw new Error('spool broken');
        },
      },
    );
    p.enqueue(makeBatch(2));
    await p.forceFlush();
    expect(p.stats().accepted).toBe(2);
    expect(logs.messages('error').some((m) => m.includes('spool broken'))).toBe(true);
  });

  it('settles a batch whose delivery failed inside our own code once, as dropped, and goes on', async () => {
    const { log, onSettled } = settlements();
    let calls = 0;
    const real = fenraSender(resolveConfig({ apiKey: 'test-key', endpoint: server.url }, {}));
    if (real === undefined) throw new Error('no sender');
    const p = pipeline(
      {},
      {
        onSettled,
        // A sender that breaks its contract (it must answer with an outcome) on its first call.
        sender: {
          send: (items, options) => {
            if (calls++ === 0) throw new Error('sender bug');
            return real.send(items, options);
          },
          close: () => real.close(),
        },
      },
    );
    const first = makeBatch(3);
    p.enqueue(first);
    await p.forceFlush();
    const second = makeBatch(2);
    p.enqueue(second);
    await p.forceFlush();
    expect(log).toEqual([
      { ids: spanIds(first), outcome: { kind: 'dropped', reason: 'retries_exhausted' } },
      { ids: spanIds(second), outcome: { kind: 'accepted' } },
    ]);
    const st = p.stats();
    expect(st.dropped.retries_exhausted).toBe(3);
    expect(st.accepted).toBe(2);
    expect(st.queueDepth).toBe(0);
    expect(st.inFlight).toBe(0);
    expect(
      logs.messages('error').some((m) => m.includes('internal error while delivering: Error: sender bug')),
    ).toBe(true);
  });
});

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
