// A short-lived process (a CLI, a cron job, a serverless handler run to completion): one LLM
// span, then `await processor.forceFlush()` or `await provider.shutdown()`, then exit. Nothing
// else keeps the event loop alive (the provider's own forceFlush() would: it arms a ref'd
// timer). Prints the delivery counters as JSON on stdout.
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { FenraSpanProcessor } from '@fenra/otel';

const processor = new FenraSpanProcessor({ scheduledDelayMillis: 60_000 });
const provider = new BasicTracerProvider({ spanProcessors: [processor] });
provider
  .getTracer('app')
  .startSpan('chat gpt-4o-mini', {
    attributes: {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.usage.input_tokens': 12,
      'gen_ai.usage.output_tokens': 3,
    },
  })
  .end();

if (process.env.MODE === 'flush') await processor.forceFlush();
else await provider.shutdown();
process.stdout.write(`${JSON.stringify(processor.stats().delivery)}\n`);
