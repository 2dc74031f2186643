/**
 * @vercel/otel's registerOTel({ spanProcessors: [new FenraSpanProcessor()] }) end to end: the
 * real Vercel SDK (its own tracer provider, context manager and composite processor), a request
 * span carrying the customer and an LLM span inside it, delivered to the ingest server.
 */
import type { TracerProvider } from '@opentelemetry/api';
import { context, propagation, trace } from '@opentelemetry/api';
import { registerOTel } from '@vercel/otel';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FenraSpanProcessor } from '../../src/otel/span-processor.js';
import { withFenraContext } from '../../src/otel/with-fenra-context.js';
import type { IngestServer } from '../helpers/ingest-server.js';
import { startIngestServer } from '../helpers/ingest-server.js';

let ingest: IngestServer;
let processor: FenraSpanProcessor;
let provider: TracerProvider & { forceFlush(): Promise<void>; shutdown(): Promise<void> };

beforeAll(async () => {
  ingest = await startIngestServer({ apiKey: 'test-key' });
  processor = new FenraSpanProcessor({
    apiKey: 'test-key',
    endpoint: ingest.url,
    scheduledDelayMillis: 60_000,
  });
  registerOTel({ serviceName: 'storefront', spanProcessors: [processor] });
  const global = trace.getTracerProvider() as TracerProvider & { getDelegate?: () => TracerProvider };
  provider = (global.getDelegate?.() ?? global) as typeof provider;
});
afterAll(async () => {
  await provider.shutdown();
  await ingest.close();
  trace.disable();
  context.disable();
  propagation.disable();
});

const LLM = {
  'gen_ai.operation.name': 'chat',
  'gen_ai.provider.name': 'openai',
  'gen_ai.request.model': 'gpt-4o-mini',
  'gen_ai.usage.input_tokens': 21,
  'gen_ai.usage.output_tokens': 4,
};

describe('@vercel/otel registerOTel with FenraSpanProcessor', () => {
  it('delivers the LLM call, attributed from the request span and from baggage, on provider.forceFlush()', async () => {
    const tracer = trace.getTracer('app');
    await tracer.startActiveSpan('POST /api/chat', async (root) => {
      root.setAttribute('fenra.billable_customer_id', 'cus_vercel');
      await Promise.resolve();
      tracer.startSpan('chat gpt-4o-mini', { attributes: LLM }).end();
      root.end();
    });
    await withFenraContext({ billableCustomerId: 'cus_baggage', feature: 'search' }, async () => {
      await Promise.resolve();
      tracer.startSpan('chat gpt-4o-mini', { attributes: LLM }).end();
    });
    await provider.forceFlush();

    const got = ingest.accepted.map((a) => a.transaction);
    expect(got.map((t) => t.context['billable_customer_id']).sort()).toEqual(['cus_baggage', 'cus_vercel']);
    expect(got.find((t) => t.context['billable_customer_id'] === 'cus_baggage')!.context).toMatchObject({
      feature: 'search',
    });
    for (const t of got) {
      expect(t).toMatchObject({ provider: 'openai', model: 'gpt-4o-mini' });
      expect(t.context['service']).toBe('storefront');
    }
    expect(processor.stats()).toMatchObject({ billed: 2, delivery: { accepted: 2 } });
  });
});
