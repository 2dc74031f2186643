import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderTransaction } from '../../src/fenra/render-transaction.js';
import { billingAttributeFilter } from '../../src/genai/billing-keys.js';
import { PriceBook } from '../../src/pricing/price-book.js';
import { BillingPath } from '../../src/sidecar/billing.js';
import type { DeliveryConfig } from '../../src/pipeline/delivery-config.js';
import { DeliveryPipeline } from '../../src/pipeline/delivery-pipeline.js';
import type { SendResult, TransactionSender } from '../../src/pipeline/sender.js';
import { Metrics } from '../../src/sidecar/metrics.js';
import { MemorySpool, parseSpans, serialiseSpans } from '../../src/sidecar/spool.js';
import { TraceReceiver } from '../../src/sidecar/trace-receiver.js';
import { spansFromOtlpJson } from '../../src/span/from-otlp-json.js';
import { decodeTraceRequest } from '../../src/span/otlp-proto.js';
import type { SpanView } from '../../src/span/span-view.js';
import type { PricedTransaction } from '../../src/stage/priced-transaction.js';
import type { ConversionResult } from '../../src/stage/to-transactions.js';
import { toTransactions } from '../../src/stage/to-transactions.js';
import type { CapturedDiag } from '../helpers/capture-diag.js';
import { captureDiag } from '../helpers/capture-diag.js';
import type { IngestServer } from '../helpers/ingest-server.js';
import { startIngestServer } from '../helpers/ingest-server.js';
import { ManualScheduler } from '../helpers/manual-scheduler.js';
import { until } from '../sidecar/spawn-sidecar.js';
import type { ServedInProcess } from '../helpers/serve-in-process.js';
import { serveInProcess } from '../helpers/serve-in-process.js';
import { otlpJsonRequest, SECRET, toProtobuf } from './fuzz-requests.js';

/**
 * Issue 12's fuzz test: random OTLP/JSON and OTLP/protobuf requests (random attribute types and
 * values, malformed ones included; every string outside the allow-list a secret) through the
 * converter, through the sidecar's receiver path in process (TraceReceiver, BillingPath and the
 * conversion stage), and a few over real HTTP. No exception escapes, the process lives, and no
 * secret and no attribute outside the allow-list reaches a sink (what is spooled, what is sent
 * to Fenra, the logs, /metrics). A fixed seed and a CI-sized number of runs keep it to seconds.
 */
const SEED = 20_261_112;
const RUNS = 150;
const pricer = new PriceBook();
const filter = billingAttributeFilter();

/** A span as kept under the allow-list: every key allowed, every value as its rule keeps it. */
function expectAllowed(span: SpanView): void {
  for (const layer of [span.attributes, span.resource]) {
    for (const [key, value] of Object.entries(layer)) {
      const rule = filter(key);
      expect(rule, `kept attribute ${key}`).toBeDefined();
      expect(rule!(value!), `${key} as kept`).toEqual(value);
    }
  }
  expect(span.events).toEqual([]);
  expect(span.status.message).toBeUndefined();
}

const billedNothingSecret = (r: ConversionResult): void => {
  const bodies = JSON.stringify(r.transactions.map((t) => renderTransaction(t)));
  expect(bodies).not.toContain(SECRET);
};

/** What the converter decides, without what only names spans (cut to a bound when filtered). */
const decisions = (r: ConversionResult): unknown => ({
  tx: r.transactions.map((t) => [t.span.spanId, renderTransaction(t), t.price.usd]),
  skipped: r.skipped.map((s) => [s.spanId, s.reason]).sort(),
});

describe('fuzz: the converter (toTransactions) over decoded requests', () => {
  it('never throws; the allow-list changes no decision and lets no secret through', () => {
    const seen = { billed: 0, invalidUsage: 0, invalid: 0 };
    fc.assert(
      fc.property(otlpJsonRequest, (request) => {
        const proto = toProtobuf(request);
        for (const [full, kept] of [
          [spansFromOtlpJson(request).spans, spansFromOtlpJson(request, filter).spans],
          [decodeTraceRequest(proto).spans, decodeTraceRequest(proto, filter).spans],
        ] as const) {
          for (const s of kept) expectAllowed(s);
          expect(JSON.stringify(kept)).not.toContain(SECRET);
          const a = toTransactions(full, { pricer });
          const b = toTransactions(kept, { pricer });
          expect(decisions(b)).toEqual(decisions(a));
          billedNothingSecret(a);
          seen.billed += a.transactions.length;
          for (const k of a.skipped) if (k.reason === 'invalid_usage') seen.invalidUsage++;
          for (const k of a.skipped) if (k.reason === 'invalid') seen.invalid++;
        }
      }),
      { seed: SEED, numRuns: RUNS },
    );
    // The runs billed calls, and refused some for their counts or their model id.
    expect(seen.billed).toBeGreaterThan(RUNS / 2);
    expect(seen.invalidUsage).toBeGreaterThan(RUNS / 10);
  });
});

/** Fenra's stand-in behind the real pipeline: takes every batch, rendered as it would be sent. */
class RenderingSender implements TransactionSender {
  bodies: string[] = [];
  send(items: readonly PricedTransaction[]): Promise<SendResult> {
    const body = JSON.stringify({ transactions: items.map((t) => renderTransaction(t)) });
    this.bodies.push(body);
    return Promise.resolve({ outcome: { kind: 'accepted', status: 202 }, bytes: body.length });
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const DELIVERY: DeliveryConfig = {
  endpoint: 'http://127.0.0.1:9/usage/transactions',
  apiKey: 'k',
  disabled: false,
  maxExportBatchSize: 100,
  scheduledDelayMillis: 5,
  maxQueueSize: 100_000,
  exportTimeoutMillis: 10_000,
  requestTimeoutMillis: 5_000,
  concurrencyLimit: 2,
  settingNames: { apiKey: 'k', endpoint: 'e', maxQueueSize: 'q', exportTimeoutMillis: 't' },
};

/** A spool that keeps what a disk spool would write, in the format it writes. */
class WatchedSpool extends MemorySpool {
  written: string[] = [];
  override append(spans: SpanView[], priority?: boolean): Promise<number> {
    this.written.push(serialiseSpans(spans));
    return super.append(spans, priority);
  }
}

describe('fuzz: the sidecar receiver path in process', () => {
  let diag: CapturedDiag;
  beforeAll(() => {
    diag = captureDiag();
  });
  afterAll(() => diag.restore());

  for (const encoding of ['json', 'protobuf'] as const) {
    it(`OTLP/${encoding}: every request answered, nothing outside the allow-list stored, sent, logged or counted`, async () => {
      const spool = new WatchedSpool(64 * 1024 * 1024);
      const sender = new RenderingSender();
      const pipeline = new DeliveryPipeline(DELIVERY, { sender });
      const metrics = new Metrics();
      const scheduler = new ManualScheduler();
      const billing = new BillingPath({ conversion: {}, pricer, scheduler }, spool, pipeline);
      const receiver = new TraceReceiver({ billing, metrics });
      let taken = 0;
      try {
        await fc.assert(
          fc.asyncProperty(otlpJsonRequest, async (request) => {
            const body =
              encoding === 'json' ? Buffer.from(JSON.stringify(request)) : Buffer.from(toProtobuf(request));
            const outcome = await receiver.receive(body, encoding);
            expect(['ok', 'invalid', 'too_large']).toContain(outcome.kind);
            if (outcome.kind === 'ok') taken++;
            billing.flushTraces();
            await new Promise((r) => setImmediate(r));
          }),
          { seed: SEED + (encoding === 'json' ? 1 : 2), numRuns: RUNS },
        );
        await pipeline.forceFlush();
      } finally {
        billing.stop();
        await pipeline.shutdown();
      }
      expect(taken).toBeGreaterThan(RUNS / 2);
      // Spans were stored and transactions sent: the checks below looked at something.
      expect(spool.written.length).toBeGreaterThan(0);
      expect(sender.bodies.length).toBeGreaterThan(0);
      for (const record of spool.written) {
        expect(record).not.toContain(SECRET);
        for (const s of parseSpans(record)) expectAllowed(s);
      }
      expect(sender.bodies.join('\n')).not.toContain(SECRET);
      expect(metrics.render()).not.toContain(SECRET);
      expect(diag.text()).not.toContain(SECRET);
    });
  }
});

describe('fuzz: a few requests over real HTTP to a running sidecar', () => {
  let ingest: IngestServer;
  let served: ServedInProcess;
  beforeAll(async () => {
    ingest = await startIngestServer({ apiKey: 'k' });
    served = await serveInProcess(
      ['--port', '0', '--log-level', 'debug', '--trace-wait-ms', '100', '--flush-ms', '20'],
      { FENRA_API_KEY: 'k', FENRA_ENDPOINT: ingest.url },
    );
  });
  afterAll(async () => {
    await served.stop();
    await ingest.close();
  });

  it('answers each request, stays up, and sends, logs and counts no secret', async () => {
    const { base, sidecar, stderr } = served;
    let ok = 0;
    await fc.assert(
      fc.asyncProperty(
        otlpJsonRequest,
        fc.constantFrom('json', 'protobuf'),
        fc.boolean(),
        async (request, enc, gzip) => {
          const raw =
            enc === 'json' ? Buffer.from(JSON.stringify(request)) : Buffer.from(toProtobuf(request));
          const res = await fetch(`${base}/v1/traces`, {
            method: 'POST',
            body: gzip ? gzipSync(raw) : raw,
            headers: {
              'content-type': enc === 'json' ? 'application/json' : 'application/x-protobuf',
              ...(gzip ? { 'content-encoding': 'gzip' } : {}),
            },
          });
          expect([200, 400]).toContain(res.status);
          expect(await res.text()).not.toContain(SECRET);
          if (res.status === 200) ok++;
        },
      ),
      { seed: SEED + 3, numRuns: 12 },
    );
    expect(ok).toBeGreaterThan(0);
    // Everything taken is resolved and delivered before the sinks are read.
    await until(() => sidecar.metrics.value('fenra.otel.traces.held') === 0, 'held traces to resolve');
    await until(
      () =>
        sidecar.metrics.value('fenra.otel.queue.depth') === 0 &&
        sidecar.metrics.value('fenra.otel.export.in_flight') === 0,
      'the queue to Fenra to drain',
    );
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('fenra_otel_receiver_spans_total');
    expect(metrics).not.toContain(SECRET);
    expect(ingest.requests.map((r) => r.body).join('\n')).not.toContain(SECRET);
    expect(stderr.text).toContain('"level":"info"');
    expect(stderr.text).not.toContain(SECRET);
  });
});
