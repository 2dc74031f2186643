// One LLM call through the register entry, THEN the app starts its own SDK and makes another:
// the first is billed (the register entry flushes as it steps aside), the second goes to the
// app's exporter only.
const { trace } = require('@opentelemetry/api');
const { OpenAIInstrumentation } = require('@opentelemetry/instrumentation-openai');
const {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} = require('@opentelemetry/sdk-trace-base');
const { default: OpenAI } = require('openai');

const ask = (content) =>
  new OpenAI().chat.completions.create({ model: 'gpt-4.1-mini', messages: [{ role: 'user', content }] });

async function main() {
  await ask('before');
  const exporter = new InMemorySpanExporter();
  const processor = new SimpleSpanProcessor(exporter);
  new OpenAIInstrumentation(); // the app's own instrumentation, enabled at construction
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [processor] }));
  await ask('after');
  await processor.forceFlush();
  console.log('app spans: ' + JSON.stringify(exporter.getFinishedSpans().map((s) => [s.name, null])));
  console.log('app done');
}
main();
