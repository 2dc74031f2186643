// The same as CommonJS: its own NodeSDK started in the main module, after the register preload.
const { trace } = require('@opentelemetry/api');
const { OpenAIInstrumentation } = require('@opentelemetry/instrumentation-openai');
const { NodeSDK } = require('@opentelemetry/sdk-node');
const { InMemorySpanExporter, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base');

const exporter = new InMemorySpanExporter();
const processor = new SimpleSpanProcessor(exporter);
const sdk = new NodeSDK({
  spanProcessors: [processor],
  instrumentations: [new OpenAIInstrumentation()],
  metricReaders: [],
  logRecordProcessors: [],
});
sdk.start();
const { default: OpenAI } = require('openai');

async function main() {
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
}
main();
