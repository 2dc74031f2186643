import type { Context } from '@opentelemetry/api';
import { ROOT_CONTEXT, SpanKind, trace, TraceFlags } from '@opentelemetry/api';
import { BasicTracerProvider, BatchSpanProcessor, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../src/config/options.js';
import { FenraSpanExporter } from '../../src/otel/span-exporter.js';
import type { IngestServer } from '../helpers/ingest-server.js';
import { startIngestServer } from '../helpers/ingest-server.js';

let ingest: IngestServer;
const providers: BasicTracerProvider[] = [];
beforeEach(async () => {
  ingest = await startIngestServer({ apiKey: 'test-key' });
});
afterEach(async () => {
  await Promise.all(providers.splice(0).map((p) => p.shutdown()));
  await ingest.close();
});

const LLM = {
  'gen_ai.operation.name': 'chat',
  'gen_ai.provider.name': 'openai',
  'gen_ai.request.model': 'gpt-4o-mini',
  'gen_ai.usage.input_tokens': 10,
  'gen_ai.usage.output_tokens': 2,
};

function setup(processor: (e: FenraSpanExporter) => BatchSpanProcessor | SimpleSpanProcessor) {
  // The pipeline's own batch delay is long: only the export wait can make delivery prompt.
  const exporter = new FenraSpanExporter({
    apiKey: 'test-key',
    endpoint: ingest.url,
    scheduledDelayMillis: 60_000,
  });
  const provider = new BasicTracerProvider({ spanProcessors: [processor(exporter)] });
  providers.push(provider);
  return { exporter, provider, tracer: provider.getTracer('app') };
}

/** A request span continuing an incoming traceparent, with an LLM call inside it. */
function request(tracer: ReturnType<BasicTracerProvider['getTracer']>, parent: Context, customer: string) {
  const root = tracer.startSpan('POST /chat', { kind: SpanKind.SERVER }, parent);
  root.setAttribute('fenra.billable_customer_id', customer);
  tracer
    .startSpan('chat gpt-4o-mini', { kind: SpanKind.CLIENT, attributes: LLM }, trace.setSpan(parent, root))
    .end();
  root.end();
}

describe('FenraSpanExporter inside a real BatchSpanProcessor', () => {
  it('provider.forceFlush() resolves after Fenra accepted the batch (BSP never calls exporter.forceFlush)', async () => {
    const { exporter, provider, tracer } = setup(
      (e) => new BatchSpanProcessor(e, { scheduledDelayMillis: 60_000, maxExportBatchSize: 512 }),
    );
    request(tracer, ROOT_CONTEXT, 'acme');
    request(tracer, ROOT_CONTEXT, 'globex');
    await provider.forceFlush();
    expect(ingest.accepted.map((a) => a.transaction.context['billable_customer_id']).sort()).toEqual([
      'acme',
      'globex',
    ]);
    expect(exporter.stats().delivery).toMatchObject({ accepted: 2, queueDepth: 0, inFlight: 0 });
  });

  it('waits through a retry before reporting the export', async () => {
    ingest.script([{ kind: 'status', status: 503, retryAfter: '1' }]);
    const { exporter, provider, tracer } = setup((e) => new BatchSpanProcessor(e));
    request(tracer, ROOT_CONTEXT, 'acme');
    await provider.forceFlush();
    expect(ingest.accepted).toHaveLength(1);
    expect(exporter.stats().delivery).toMatchObject({ accepted: 1, retries: 1 });
  });

  it('does not wait for GenAI spans still held for their root', async () => {
    const { exporter, provider, tracer } = setup((e) => new BatchSpanProcessor(e));
    const root = tracer.startSpan('POST /chat', { kind: SpanKind.SERVER });
    tracer.startSpan('chat', { attributes: LLM }, trace.setSpan(ROOT_CONTEXT, root)).end();
    await provider.forceFlush(); // the LLM span is exported, its root has not ended
    expect(exporter.stats().pendingTraces).toBe(1);
    expect(ingest.requests).toHaveLength(0);
    root.setAttribute('fenra.billable_customer_id', 'late');
    root.end();
    await provider.forceFlush();
    expect(exporter.stats().pendingTraces).toBe(0);
    expect(ingest.accepted.map((a) => a.transaction.context['billable_customer_id'])).toEqual(['late']);
  });

  it('answers at once when Fenra refuses the key (the data stays queued)', async () => {
    ingest.setApiKey('another-key');
    const { exporter, provider, tracer } = setup((e) => new BatchSpanProcessor(e));
    request(tracer, ROOT_CONTEXT, 'acme');
    await provider.forceFlush();
    expect(exporter.stats().delivery).toMatchObject({ state: 'unauthorized', queueDepth: 1 });
  });
});

describe('a span whose parent is remote (incoming traceparent) is the local root', () => {
  const remote = trace.setSpanContext(ROOT_CONTEXT, {
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    spanId: '00f067aa0ba902b7',
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
  });

  it('resolves the trace when the request span ends, not after traceWaitMillis', async () => {
    const { exporter, provider, tracer } = setup((e) => new SimpleSpanProcessor(e));
    request(tracer, remote, 'acme');
    // SimpleSpanProcessor.forceFlush waits for pending exports (and would flush the exporter:
    // look before that, through the stats, that nothing is held).
    expect(exporter.stats().pendingTraces).toBe(0);
    await provider.forceFlush();
    expect(ingest.accepted).toHaveLength(1);
    expect(ingest.accepted[0]!.transaction.context).toMatchObject({
      billable_customer_id: 'acme',
      trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
    });
  });

  it('through a BatchSpanProcessor: delivered by provider.forceFlush()', async () => {
    const { exporter, provider, tracer } = setup((e) => new BatchSpanProcessor(e));
    request(tracer, remote, 'acme');
    await provider.forceFlush();
    expect(exporter.stats().pendingTraces).toBe(0);
    expect(ingest.accepted).toHaveLength(1);
  });
});

describe('FenraSpanExporter options', () => {
  it.each([-1, 1.5, '10', Number.NaN])('rejects traceWaitMillis %s at construction', (v) => {
    expect(() => new FenraSpanExporter({ traceWaitMillis: v as number })).toThrow(ConfigurationError);
    expect(() => new FenraSpanExporter({ traceWaitMillis: v as number })).toThrow(/traceWaitMillis/);
  });

  it('accepts 0 (convert at once)', async () => {
    const e = new FenraSpanExporter({ traceWaitMillis: 0, apiKey: 'k', endpoint: ingest.url });
    await e.shutdown();
  });
});
