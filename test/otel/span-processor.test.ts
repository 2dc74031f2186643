import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { OpenAIInstrumentation } from '@opentelemetry/instrumentation-openai';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { OpenAI as OpenAIClass } from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { toTransactions } from '../../src/stage/to-transactions.js';
import { FenraSpanExporter } from '../../src/otel/span-exporter.js';
import { FenraSpanProcessor } from '../../src/otel/span-processor.js';
import { PriceBook } from '../../src/pricing/price-book.js';
import type { CapturedDiag } from '../helpers/capture-diag.js';
import { captureDiag } from '../helpers/capture-diag.js';
import type { FakeOpenAI } from '../helpers/fake-openai.js';
import { startFakeOpenAI } from '../helpers/fake-openai.js';
import type { IngestServer } from '../helpers/ingest-server.js';
import { startIngestServer } from '../helpers/ingest-server.js';
import { ManualScheduler } from '../helpers/manual-scheduler.js';
import { FIXTURES, loadFixture, replay } from './replay.js';
import { renderTransaction } from '../../src/fenra/render-transaction.js';

const fixtureNames = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.otlp.json'))
  .map((f) => f.replace('.otlp.json', ''))
  .sort();

let ingest: IngestServer;
let diagLog: CapturedDiag;
beforeAll(async () => {
  // What NodeSDK / provider.register() install in an app: context propagation across async calls.
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  ingest = await startIngestServer({ apiKey: 'test-key' });
});
afterAll(async () => {
  await ingest.close();
  context.disable();
});
afterEach(() => {
  diagLog?.restore();
});

const options = () => ({ apiKey: 'test-key', endpoint: ingest.url, scheduledDelayMillis: 50 });
const byspan = (a: { context: Record<string, unknown> }, b: { context: Record<string, unknown> }) =>
  String(a.context['span_id']).localeCompare(String(b.context['span_id']));

describe('FenraSpanProcessor with recorded real traces replayed through a real BasicTracerProvider', () => {
  it.each(fixtureNames)('%s: the ingest server receives exactly what convert produces', async (name) => {
    const spans = loadFixture(name);
    const before = ingest.accepted.length;
    const processor = new FenraSpanProcessor(options());
    const provider = await replay(spans, [processor]);
    await provider.forceFlush();
    const got = ingest.accepted.slice(before).map((a) => a.transaction);
    const want = toTransactions(spans, { pricer: new PriceBook() }).transactions.map((t) =>
      renderTransaction(t),
    );
    expect(got.sort(byspan)).toEqual(want.sort(byspan));
    expect(processor.stats().billed).toBe(want.length);
    await provider.shutdown();
  });
});

describe('FenraSpanExporter (inside a span pipeline) with recorded real traces', () => {
  it.each(fixtureNames)('%s: same transactions as convert', async (name) => {
    const spans = loadFixture(name);
    const before = ingest.accepted.length;
    const exporter = new FenraSpanExporter(options());
    const provider = await replay(spans, [new SimpleSpanProcessor(exporter)]);
    await provider.forceFlush();
    const got = ingest.accepted.slice(before).map((a) => a.transaction);
    const want = toTransactions(spans, { pricer: new PriceBook() }).transactions.map((t) =>
      renderTransaction(t),
    );
    expect(got.sort(byspan)).toEqual(want.sort(byspan));
    await provider.shutdown();
  });
});

describe('attribution in process', () => {
  it('takes the customer from baggage and from a parent attribute set after the LLM span started', async () => {
    const before = ingest.accepted.length;
    const processor = new FenraSpanProcessor(options());
    const provider = new NodeTracerProvider({ spanProcessors: [processor] });
    const tracer = provider.getTracer('app');
    const llm = {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.usage.input_tokens': 10,
      'gen_ai.usage.output_tokens': 2,
    };
    const bag = propagation.createBaggage({
      'fenra.billable_customer_id': { value: 'from-baggage' },
      'fenra.context.plan': { value: 'pro' },
    });
    context.with(propagation.setBaggage(context.active(), bag), () => {
      tracer.startActiveSpan('POST /a', (root) => {
        tracer.startSpan('chat gpt-4o-mini', { attributes: llm }).end();
        root.end();
      });
    });
    tracer.startActiveSpan('POST /b', (root) => {
      const child = tracer.startSpan('chat gpt-4o-mini', { attributes: llm });
      root.setAttribute('fenra.billable_customer_id', 'set-later');
      child.end();
      root.end();
    });
    await processor.forceFlush();
    const got = ingest.accepted.slice(before).map((a) => a.transaction.context);
    expect(got.map((c) => c.billable_customer_id)).toEqual(['from-baggage', 'set-later']);
    expect(got[0]!['plan']).toBe('pro');
    await provider.shutdown();
  });

  it('reads the request span as it is when the batch is converted: a customer set after the LLM span ended counts', async () => {
    const before = ingest.accepted.length;
    const processor = new FenraSpanProcessor(options());
    const provider = new NodeTracerProvider({ spanProcessors: [processor] });
    const tracer = provider.getTracer('app');
    tracer.startActiveSpan('POST /c', (root) => {
      tracer
        .startSpan('chat gpt-4o-mini', {
          attributes: {
            'gen_ai.operation.name': 'chat',
            'gen_ai.provider.name': 'openai',
            'gen_ai.request.model': 'gpt-4o-mini',
            'gen_ai.usage.input_tokens': 10,
            'gen_ai.usage.output_tokens': 2,
          },
        })
        .end();
      // e.g. an auth middleware that resolves the tenant after the handler called the model
      root.setAttribute('fenra.billable_customer_id', 'after-the-call');
      root.end();
    });
    await processor.forceFlush();
    const got = ingest.accepted.slice(before).map((a) => a.transaction.context.billable_customer_id);
    expect(got).toEqual(['after-the-call']);
    await provider.shutdown();
  });
});

describe('a trace resolved while its root still runs', () => {
  const chat = {
    'gen_ai.operation.name': 'chat',
    'gen_ai.provider.name': 'openai',
    'gen_ai.request.model': 'gpt-4o-mini',
    'gen_ai.usage.input_tokens': 12,
    'gen_ai.usage.output_tokens': 4,
  };

  it('forceFlush inside a serverless handler bills with the customer of the request span still open', async () => {
    const before = ingest.accepted.length;
    const processor = new FenraSpanProcessor(options());
    const provider = new NodeTracerProvider({ spanProcessors: [processor] });
    const tracer = provider.getTracer('app');
    await tracer.startActiveSpan('POST /handler', async (root) => {
      root.setAttribute('fenra.billable_customer_id', 'lambda-co');
      tracer.startSpan('chat gpt-4o-mini', { attributes: chat }).end();
      await provider.forceFlush(); // what a handler does before it returns
      root.end();
    });
    const got = ingest.accepted.slice(before).map((a) => a.transaction.context.billable_customer_id);
    expect(got).toEqual(['lambda-co']);
    await provider.shutdown();
  });

  it('a long session span: calls billed when the wait expires read its customer as it is', async () => {
    const before = ingest.accepted.length;
    const clock = new ManualScheduler();
    const processor = new FenraSpanProcessor(options(), { scheduler: clock });
    const provider = new NodeTracerProvider({ spanProcessors: [processor] });
    const tracer = provider.getTracer('app');
    const session = tracer.startSpan('websocket session', {
      attributes: { 'fenra.billable_customer_id': 'ws-co' },
    });
    const inSession = trace.setSpan(context.active(), session);
    tracer.startSpan('chat gpt-4o-mini', { attributes: chat }, inSession).end();
    processor.stats(); // hands the call to the stage now
    clock.advance(9_999);
    expect(processor.stats().pendingTraces).toBe(1);
    clock.advance(1); // the 10 s wait for the root expires: billed now, the session still open
    expect(processor.stats().pendingTraces).toBe(0);
    await processor.forceFlush();
    const got = ingest.accepted.slice(before).map((a) => a.transaction.context.billable_customer_id);
    expect(got).toEqual(['ws-co']);
    session.end();
    await provider.shutdown();
  });
});

describe('batch conversion', () => {
  const chat = {
    'gen_ai.operation.name': 'chat',
    'gen_ai.provider.name': 'openai',
    'gen_ai.request.model': 'gpt-4o-mini',
    'gen_ai.usage.input_tokens': 7,
    'gen_ai.usage.output_tokens': 3,
  };

  it('delivers ended GenAI spans by itself, with no flush or stats call', async () => {
    const before = ingest.accepted.length;
    const processor = new FenraSpanProcessor(options());
    const provider = new NodeTracerProvider({ spanProcessors: [processor] });
    const tracer = provider.getTracer('app');
    for (let i = 0; i < 3; i++) tracer.startSpan('chat', { attributes: chat }).end();
    const deadline = Date.now() + 10_000;
    while (ingest.accepted.length < before + 3 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(ingest.accepted.length - before).toBe(3);
    await provider.shutdown();
  });

  it('a synchronous burst that never yields is converted as it goes, in bounded memory', async () => {
    const processor = new FenraSpanProcessor({ ...options(), maxQueueSize: 10_000 });
    const provider = new NodeTracerProvider({ spanProcessors: [processor] });
    const tracer = provider.getTracer('app');
    let maxWaiting = 0;
    for (let i = 0; i < 5_000; i++) {
      tracer.startSpan('chat', { attributes: chat }).end();
      maxWaiting = Math.max(maxWaiting, (processor as unknown as { _ended: unknown[] })._ended.length);
    }
    expect(maxWaiting).toBeLessThanOrEqual(2048);
    expect(processor.stats()).toMatchObject({ billed: 5_000, llmCalls: 5_000 });
    await provider.shutdown();
  });
});

describe('the real openai SDK + @opentelemetry/instrumentation-openai, through faults', () => {
  let fake: FakeOpenAI;
  let OpenAI: typeof OpenAIClass;
  // One instrumentation for the file: it patches `openai` when it is first required.
  const instr = new OpenAIInstrumentation();
  beforeAll(async () => {
    fake = await startFakeOpenAI();
    registerInstrumentations({ instrumentations: [instr] });
    OpenAI = (createRequire(import.meta.url)('openai') as { OpenAI: typeof OpenAIClass }).OpenAI;
  });
  afterAll(async () => {
    instr.disable();
    await fake.close();
  });

  it('N calls arrive exactly once each through 5xx, 429 + Retry-After, 207, a timeout and a reset', async () => {
    const server = await startIngestServer({ apiKey: 'k' });
    server.script([
      { kind: 'status', status: 500 },
      { kind: 'status', status: 429, retryAfter: '1' },
      { kind: 'partial', failed: [{ index: 0, retryable: true }] },
      { kind: 'slow', delayMs: 1500, then: { kind: 'status', status: 503 } },
      { kind: 'reset' },
    ]);
    const processor = new FenraSpanProcessor({
      apiKey: 'k',
      endpoint: server.url,
      maxExportBatchSize: 2,
      scheduledDelayMillis: 20,
      requestTimeoutMillis: 500,
      exportTimeoutMillis: 20_000,
    });
    const provider = new NodeTracerProvider({ spanProcessors: [processor] });
    instr.setTracerProvider(provider);
    const client = new OpenAI({ apiKey: 'sk-test', baseURL: fake.baseURL, maxRetries: 0 });
    const tracer = provider.getTracer('app');
    const N = 6;
    await tracer.startActiveSpan('POST /chat', async (root) => {
      root.setAttribute('fenra.billable_customer_id', 'acme');
      for (let i = 0; i < N; i++) {
        if (i % 2 === 0) {
          await client.chat.completions.create({
            model: 'gpt-4o-mini',
            messages: [{ role: 'user', content: 'hi' }],
          });
        } else {
          const stream = await client.chat.completions.create({
            model: 'gpt-4o-mini',
            messages: [{ role: 'user', content: 'hi' }],
            stream: true,
            stream_options: { include_usage: true },
          });
          for await (const _chunk of stream) void _chunk;
        }
      }
      root.end();
    });
    await processor.forceFlush();

    expect(server.pending()).toBe(0);
    const got = server.accepted.map((a) => a.transaction);
    expect(got).toHaveLength(N);
    const inputs = got.map((t) => t.usage[0]!.metrics['input_tokens']).sort((a, b) => a! - b!);
    expect(inputs).toEqual(fake.usages.map((u) => u.prompt_tokens));
    for (const t of got) {
      expect(t).toMatchObject({
        provider: 'openai',
        model: 'gpt-4o-mini-2024-07-18',
        context: { billable_customer_id: 'acme', operation: 'chat' },
      });
    }
    const s = processor.stats();
    expect(s).toMatchObject({ llmCalls: N, billed: N, unpriced: 0 });
    expect(s.delivery.accepted).toBe(N);
    expect(s.delivery.retries).toBeGreaterThanOrEqual(4);
    await provider.shutdown();
    await server.close();
  });

  it('a streaming call without include_usage is counted and explained once, not billed', async () => {
    diagLog = captureDiag();
    const processor = new FenraSpanProcessor(options());
    const exporter = new InMemorySpanExporter();
    const provider = new NodeTracerProvider({
      spanProcessors: [processor, new SimpleSpanProcessor(exporter)],
    });
    instr.setTracerProvider(provider);
    const client = new OpenAI({ apiKey: 'sk-test', baseURL: fake.baseURL, maxRetries: 0 });
    for (let i = 0; i < 2; i++) {
      const stream = await client.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'x' }],
        stream: true,
      });
      for await (const _c of stream) void _c;
    }
    await processor.forceFlush();
    expect(exporter.getFinishedSpans()).toHaveLength(2);
    expect(processor.stats()).toMatchObject({ llmCalls: 2, billed: 0, skipped: { missing_usage: 2 } });
    expect(diagLog.messages('warn').filter((m) => m.includes('include_usage'))).toHaveLength(1);
    await provider.shutdown();
  });
});

describe('never into the app', () => {
  const llm = {
    'gen_ai.operation.name': 'chat',
    'gen_ai.provider.name': 'openai',
    'gen_ai.request.model': 'gpt-4o-mini',
    'gen_ai.usage.input_tokens': 10,
    'gen_ai.usage.output_tokens': 2,
  };

  it('with a wrong key the app runs on and the log says why, once', async () => {
    diagLog = captureDiag();
    const processor = new FenraSpanProcessor({ ...options(), apiKey: 'wrong-key' });
    const provider = new NodeTracerProvider({ spanProcessors: [processor] });
    const tracer = provider.getTracer('app');
    for (let i = 0; i < 5; i++) {
      tracer.startSpan('chat', { attributes: llm }).end();
      await processor.forceFlush();
    }
    const errors = diagLog.messages('error').filter((m) => /key/i.test(m));
    expect(errors).toHaveLength(1);
    expect(diagLog.text()).not.toContain('wrong-key');
    expect(processor.stats().delivery.state).toBe('unauthorized');
    await provider.shutdown();
  });

  it('with the endpoint down for the whole run nothing is thrown and memory stays bounded', async () => {
    diagLog = captureDiag();
    const processor = new FenraSpanProcessor({
      apiKey: 'k',
      endpoint: 'http://127.0.0.1:9/usage/transactions',
      maxQueueSize: 50,
      maxExportBatchSize: 10,
      scheduledDelayMillis: 10,
      exportTimeoutMillis: 300,
      requestTimeoutMillis: 100,
    });
    const provider = new NodeTracerProvider({ spanProcessors: [processor] });
    const tracer = provider.getTracer('app');
    for (let i = 0; i < 2_000; i++) tracer.startSpan('chat', { attributes: llm }).end();
    await processor.forceFlush();
    const s = processor.stats();
    expect(s.billed).toBe(2_000);
    expect(s.unattributed).toBe(2_000);
    expect(s.delivery.queueDepth).toBeLessThanOrEqual(50);
    expect(s.delivery.dropped.queue_full).toBeGreaterThan(0);
    expect(s.delivery.accepted).toBe(0);
    await expect(provider.shutdown()).resolves.toBeUndefined();
  });

  it('a malformed span (odd attribute types) is counted, never thrown', async () => {
    const processor = new FenraSpanProcessor(options());
    const provider = new NodeTracerProvider({ spanProcessors: [processor] });
    const tracer = provider.getTracer('app');
    expect(() =>
      tracer
        .startSpan('chat', {
          attributes: {
            'gen_ai.operation.name': 'chat',
            'gen_ai.usage.input_tokens': 'NaN',
            'gen_ai.request.model': ['a', 'b'],
          },
        })
        .end(),
    ).not.toThrow();
    expect(processor.stats().billed).toBe(0);
    await provider.shutdown();
  });

  it('shutdown twice, and forceFlush after shutdown, resolve', async () => {
    const processor = new FenraSpanProcessor(options());
    const p1 = processor.shutdown();
    expect(processor.shutdown()).toBe(p1);
    await p1;
    await expect(processor.forceFlush()).resolves.toBeUndefined();
  });

  it('without an API key it warns once and does nothing', async () => {
    diagLog = captureDiag();
    const processor = new FenraSpanProcessor({ endpoint: ingest.url });
    const provider = new NodeTracerProvider({ spanProcessors: [processor] });
    provider.getTracer('app').startSpan('chat', { attributes: llm }).end();
    await processor.forceFlush();
    expect(diagLog.messages('warn').filter((m) => m.includes('FENRA_API_KEY'))).toHaveLength(1);
    await provider.shutdown();
  });

  it('bad options in code throw once, at construction, readably', () => {
    expect(() => new FenraSpanProcessor({ maxQueueSize: -1 } as never)).toThrow(/maxQueueSize/);
    expect(() => new FenraSpanProcessor({ apikey: 'typo' } as never)).toThrow(/apikey/);
  });

  it('is inert for non-GenAI spans', async () => {
    const processor = new FenraSpanProcessor(options());
    const provider = new NodeTracerProvider({ spanProcessors: [processor] });
    const t = provider.getTracer('app');
    t.startActiveSpan('GET /', (s) => {
      t.startSpan('db').end();
      s.end();
    });
    expect(processor.stats()).toMatchObject({ spansSeen: 2, llmCalls: 0, billed: 0 });
    void trace;
    await provider.shutdown();
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

describe('self-metrics', () => {
  it('exposes the conversion counters as OTel metrics when a MeterProvider is given', async () => {
    const reader = new TestReader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    const spans = loadFixture('vercel-ai6-openai-tools');
    const processor = new FenraSpanProcessor({ ...options(), meterProvider });
    const provider = await replay(spans, [processor]);
    await provider.forceFlush();
    const { resourceMetrics } = await reader.collect();
    const points = new Map<string, Array<{ attributes: Record<string, unknown>; value: unknown }>>();
    for (const scope of resourceMetrics.scopeMetrics) {
      for (const m of scope.metrics) points.set(m.descriptor.name, m.dataPoints as never);
    }
    const total = (name: string) =>
      (points.get(name) ?? [])
        .filter((p) => Object.keys(p.attributes).length === 0)
        .reduce((a, p) => a + Number(p.value), 0);
    expect(total('fenra.otel.spans.seen')).toBe(spans.length);
    expect(total('fenra.otel.llm_calls')).toBe(2);
    expect(total('fenra.otel.transactions.billed')).toBe(2);
    expect(points.get('fenra.otel.spans.skipped')).toEqual(
      expect.arrayContaining([expect.objectContaining({ attributes: { reason: 'aggregate' }, value: 1 })]),
    );
    const usd = points.get('fenra.otel.cost.estimated_by_model') ?? [];
    expect(usd[0]?.attributes).toMatchObject({ provider: 'openai' });
    expect(Number(usd[0]?.value)).toBeGreaterThan(0);
    await provider.shutdown();
    await meterProvider.shutdown();
  });
});

describe('resources with async attributes', () => {
  it('waits for them to settle instead of reading them early (no SDK error per span)', async () => {
    diagLog = captureDiag();
    let settle: (v: Record<string, string>) => void = () => undefined;
    const asyncAttrs = new Promise<Record<string, string>>((r) => (settle = r));
    const resource = resourceFromAttributes({
      'service.name': 'svc',
      'deployment.environment.name': asyncAttrs as never,
    });
    const before = ingest.accepted.length;
    const processor = new FenraSpanProcessor(options());
    const provider = new NodeTracerProvider({ resource, spanProcessors: [processor] });
    provider
      .getTracer('app')
      .startSpan('chat', {
        attributes: {
          'gen_ai.operation.name': 'chat',
          'gen_ai.provider.name': 'openai',
          'gen_ai.request.model': 'gpt-4o',
          'gen_ai.usage.input_tokens': 3,
          'gen_ai.usage.output_tokens': 1,
        },
      })
      .end();
    expect(processor.stats().billed).toBe(0);
    settle({});
    await processor.forceFlush();
    expect(processor.stats().billed).toBe(1);
    expect(ingest.accepted.slice(before)[0]!.transaction.context).toMatchObject({ service: 'svc' });
    expect(diagLog.messages('error').filter((m) => m.includes('async attributes'))).toEqual([]);
    await provider.shutdown();
  });
});
