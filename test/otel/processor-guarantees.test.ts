import { metrics } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resetOncePerProcess } from '../../src/internal/process-warning.js';
import { FenraSpanProcessor } from '../../src/otel/span-processor.js';
import type { CapturedDiag } from '../helpers/capture-diag.js';
import { captureDiag } from '../helpers/capture-diag.js';
import type { IngestServer } from '../helpers/ingest-server.js';
import { startIngestServer } from '../helpers/ingest-server.js';

let ingest: IngestServer;
let logs: CapturedDiag;
let warnings: Error[];
const onWarning = (w: Error): void => {
  warnings.push(w);
};
const providers: BasicTracerProvider[] = [];

beforeEach(async () => {
  resetOncePerProcess();
  logs = captureDiag();
  warnings = [];
  process.on('warning', onWarning);
  ingest = await startIngestServer({ apiKey: 'test-key' });
});
afterEach(async () => {
  await Promise.all(providers.splice(0).map((p) => p.shutdown()));
  await ingest.close();
  process.off('warning', onWarning);
  logs.restore();
});

/** Process warnings are emitted on the next tick. */
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
const fenraWarnings = (): { code: string; message: string }[] =>
  warnings
    .filter((w) => w.name === 'FenraOtelWarning')
    .map((w) => ({ code: (w as Error & { code: string }).code, message: w.message }));

const LLM = {
  // A customer: calls without one are the subject of their own warning (tested elsewhere).
  'fenra.billable_customer_id': 'cus_1',
  'gen_ai.operation.name': 'chat',
  'gen_ai.provider.name': 'openai',
  'gen_ai.request.model': 'gpt-4o-mini',
  'gen_ai.usage.input_tokens': 10,
  'gen_ai.usage.output_tokens': 2,
};

function make(options: ConstructorParameters<typeof FenraSpanProcessor>[0] = {}) {
  const processor = new FenraSpanProcessor({ apiKey: 'test-key', endpoint: ingest.url, ...options });
  const provider = new BasicTracerProvider({ spanProcessors: [processor] });
  providers.push(provider);
  return { processor, provider, tracer: provider.getTracer('app') };
}

describe('visible by default: one process warning per cause', () => {
  it('no API key: one warning (diag and process) for the whole process, not per instance', async () => {
    new FenraSpanProcessor({ endpoint: ingest.url });
    new FenraSpanProcessor({ endpoint: ingest.url });
    await tick();
    expect(fenraWarnings()).toEqual([
      { code: 'FENRA_NO_API_KEY', message: expect.stringContaining('FENRA_API_KEY') },
    ]);
    expect(logs.messages('warn').filter((m) => m.includes('No Fenra API key'))).toHaveLength(1);
  });

  it('a refused key: one warning saying what is kept, that we probe, and that a restart is needed; never the key', async () => {
    const { processor, tracer } = make({ apiKey: 'sk-wrong-secret' });
    for (let i = 0; i < 3; i++) {
      tracer.startSpan('chat', { attributes: LLM }).end();
      await processor.forceFlush();
    }
    await tick();
    const w = fenraWarnings();
    expect(w.map((x) => x.code)).toEqual(['FENRA_API_KEY_REJECTED']);
    expect(w[0]!.message).toMatch(/kept in memory \(up to \d+\) meanwhile/);
    expect(w[0]!.message).toMatch(/probes Fenra every 60 s/);
    expect(w[0]!.message).toMatch(/restart/);
    expect(w[0]!.message).toMatch(/re-enabled in Fenra/);
    expect(JSON.stringify(w) + logs.text()).not.toContain('sk-wrong-secret');
  });

  it('a wrong endpoint (404): one warning naming the endpoint, the data kept', async () => {
    const { processor, tracer } = make({ endpoint: ingest.url.replace('/usage/transactions', '/v1/usage') });
    tracer.startSpan('chat', { attributes: LLM }).end();
    await processor.forceFlush();
    await tick();
    expect(fenraWarnings()).toEqual([
      { code: 'FENRA_ENDPOINT_REJECTED', message: expect.stringContaining('/v1/usage answered HTTP 404') },
    ]);
    expect(processor.stats().delivery).toMatchObject({ state: 'endpoint_rejected', queueDepth: 1 });
  });

  it('queue full: one process warning however many drops', async () => {
    const { processor, tracer } = make({ apiKey: 'sk-wrong', maxQueueSize: 2, maxExportBatchSize: 2 });
    for (let i = 0; i < 2; i++) tracer.startSpan('chat', { attributes: LLM }).end();
    await processor.forceFlush(); // 401: both stay queued
    for (let i = 0; i < 5; i++) tracer.startSpan('chat', { attributes: LLM }).end();
    // GenAI spans are converted in batches; stats() converts what has ended first.
    expect(processor.stats().delivery.dropped.queue_full).toBe(5);
    await tick();
    expect(fenraWarnings().filter((w) => w.code === 'FENRA_QUEUE_FULL')).toHaveLength(1);
  });
});

describe('onEnd never throws into the application', () => {
  const broken: [string, unknown][] = [
    ['null', null],
    ['undefined', undefined],
    ['a span without attributes', {}],
    [
      'an attributes getter that throws',
      Object.defineProperty({}, 'attributes', {
        get() {
          throw new Error('boom');
        },
      }),
    ],
  ];
  it.each(broken)('%s', (_name, span) => {
    const { processor } = make();
    expect(() => processor.onEnd(span as ReadableSpan)).not.toThrow();
    expect(() => processor.onStart(span as never, undefined as never)).not.toThrow();
  });

  it('counts them as internal errors', () => {
    const { processor } = make();
    processor.onEnd(null as unknown as ReadableSpan);
    expect(processor.stats().internalErrors).toBe(1);
  });
});

describe('without an API key: local mode', () => {
  it('bills into the local sink (FENRA_DATA_DIR), never to Fenra', async () => {
    // Through the package entry, which wires the local sink in.
    const { FenraSpanProcessor: Processor } = await import('../../src/index.js');
    const processor = new Processor({ endpoint: ingest.url });
    const provider = new BasicTracerProvider({ spanProcessors: [processor] });
    providers.push(provider);
    provider.getTracer('app').startSpan('chat', { attributes: LLM }).end();
    await processor.forceFlush();
    expect(processor.stats()).toMatchObject({ llmCalls: 1, billed: 1 });
    expect(processor.stats().delivery).toMatchObject({ state: 'running', accepted: 1 });
    expect(ingest.requests).toHaveLength(0);
  });

  it('disabled: a true no-op (converts and prices nothing)', async () => {
    const processor = new FenraSpanProcessor({ endpoint: ingest.url, disabled: true });
    const provider = new BasicTracerProvider({ spanProcessors: [processor] });
    providers.push(provider);
    provider.getTracer('app').startSpan('chat', { attributes: LLM }).end();
    await processor.forceFlush();
    expect(processor.stats()).toMatchObject({ spansSeen: 0, llmCalls: 0, billed: 0, estimatedUsd: {} });
    expect(processor.stats().delivery).toMatchObject({ state: 'disabled', enqueued: 0 });
  });
});

describe('flush and shutdown with a resource whose async attributes never settle', () => {
  it('are bounded by the flush limit (exportTimeoutMillis + 1 s)', async () => {
    const resource = resourceFromAttributes({
      'service.name': 'svc',
      'host.id': new Promise<string>(() => undefined) as never,
    });
    const processor = new FenraSpanProcessor({
      apiKey: 'test-key',
      endpoint: ingest.url,
      exportTimeoutMillis: 100,
    });
    const provider = new BasicTracerProvider({ resource, spanProcessors: [processor] });
    provider.getTracer('app').startSpan('chat', { attributes: LLM }).end();
    await expect(processor.forceFlush()).resolves.toBeUndefined();
    expect(logs.messages('warn').some((m) => m.includes('async attributes'))).toBe(true);
    await expect(processor.shutdown()).resolves.toBeUndefined();
    expect(processor.stats().billed).toBe(0);
  });
});

class TestReader extends MetricReader {
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

async function collect(reader: MetricReader) {
  const { resourceMetrics } = await reader.collect();
  const points = new Map<string, { attributes: Record<string, unknown>; value: number }[]>();
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const m of scope.metrics) {
      points.set(
        m.descriptor.name,
        m.dataPoints.map((d) => ({ attributes: d.attributes, value: Number(d.value) })),
      );
    }
  }
  const sum = (name: string) => (points.get(name) ?? []).reduce((a, p) => a + p.value, 0);
  return { points, sum };
}

describe('self-metrics', () => {
  afterEach(() => metrics.disable());

  it('use the global MeterProvider, even one registered after the processor was made', async () => {
    const { processor, tracer } = make({ apiKey: 'test-key' });
    const reader = new TestReader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    metrics.setGlobalMeterProvider(meterProvider); // as NodeSDK.start() does, after construction
    const { 'fenra.billable_customer_id': _customer, ...noCustomer } = LLM;
    tracer.startSpan('chat', { attributes: noCustomer }).end();
    tracer
      .startSpan('chat', { attributes: { ...noCustomer, 'gen_ai.request.model': 'no-such-model-x' } })
      .end();
    await processor.forceFlush();
    const { sum } = await collect(reader);
    // Totals and subsets are separate metrics: summing any metric's points counts nothing twice.
    expect(sum('fenra.otel.transactions.billed')).toBe(2);
    expect(sum('fenra.otel.transactions.unattributed')).toBe(2);
    expect(sum('fenra.otel.transactions.unpriced')).toBe(1);
    expect(sum('fenra.otel.transactions.enqueued')).toBe(2);
    expect(sum('fenra.otel.transactions.sent')).toBe(2);
    expect(sum('fenra.otel.transactions.accepted')).toBe(2);
    expect(sum('fenra.otel.spans.seen')).toBe(2);
    await meterProvider.shutdown();
  });

  it('cap the provider/model labels at 200, the rest under other', async () => {
    const reader = new TestReader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    const { processor, tracer } = make({
      meterProvider,
      maxExportBatchSize: 500,
      priceOverrides: [{ provider: 'openai', model: 'm-*', inputPerMTok: 1, outputPerMTok: 1 }],
    });
    for (let i = 0; i < 210; i++) {
      tracer.startSpan('chat', { attributes: { ...LLM, 'gen_ai.request.model': `m-${i}` } }).end();
    }
    await processor.forceFlush();
    const { points } = await collect(reader);
    for (const name of ['fenra.otel.cost.estimated', 'fenra.otel.cost.estimated_by_model']) {
      const p = points.get(name) ?? [];
      expect(p.length, name).toBe(201);
      expect(
        p.some((x) => x.attributes['model'] === 'other'),
        name,
      ).toBe(true);
    }
    await meterProvider.shutdown();
  });
});
