// An ESM app that starts its own NodeSDK in its main module, after the register preload: its
// provider must win, its exporter must get every span (the LLM call once), nothing is billed.
import { trace } from '@opentelemetry/api';
import { OpenAIInstrumentation } from '@opentelemetry/instrumentation-openai';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import OpenAI from 'openai';

const exporter = new InMemorySpanExporter();
const processor = new SimpleSpanProcessor(exporter);
const sdk = new NodeSDK({
  spanProcessors: [processor],
  instrumentations: [new OpenAIInstrumentation()],
  metricReaders: [],
  logRecordProcessors: [],
});
sdk.start();

const openai = new OpenAI();
await trace.getTracer('app').startActiveSpan('request', async (span) => {
  await openai.chat.completions.create({
    model: 'gpt-4.1-mini',
    messages: [{ role: 'user', content: 'hi' }],
  });
  span.end();
});
await processor.forceFlush(); // exports wait for the resource's async attributes
const spans = exporter.getFinishedSpans();
const byId = new Map(spans.map((s) => [s.spanContext().spanId, s.name]));
console.log(
  'app spans: ' +
    JSON.stringify(spans.map((s) => [s.name, byId.get(s.parentSpanContext?.spanId ?? '') ?? null])),
);
await sdk.shutdown();
console.log('app done');
