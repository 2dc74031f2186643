// An app with its own copy of @opentelemetry/api (as a bundled app has) that registers its own
// tracer provider after the register entry: both copies share the one global slot.
const { trace } = require('@opentelemetry/api'); // the copy the register entry uses
for (const k of Object.keys(require.cache)) if (k.includes('/@opentelemetry/api/')) delete require.cache[k];
const api2 = require('@opentelemetry/api');
if (api2.trace === trace) throw new Error('not a second copy of @opentelemetry/api');
const {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} = require('@opentelemetry/sdk-trace-base');
const { default: OpenAI } = require('openai');

const exporter = new InMemorySpanExporter();
const processor = new SimpleSpanProcessor(exporter);
console.log(
  'registered: ' +
    api2.trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [processor] })),
);

async function main() {
  await trace.getTracer('app').startActiveSpan('request', async (span) => {
    await new OpenAI().chat.completions.create({
      model: 'gpt-4.1-mini',
      messages: [{ role: 'user', content: 'hi' }],
    });
    span.end();
  });
  await processor.forceFlush();
  const spans = exporter.getFinishedSpans();
  const byId = new Map(spans.map((s) => [s.spanContext().spanId, s.name]));
  console.log(
    'app spans: ' +
      JSON.stringify(spans.map((s) => [s.name, byId.get(s.parentSpanContext?.spanId ?? '') ?? null])),
  );
  console.log('app done');
}
main();
