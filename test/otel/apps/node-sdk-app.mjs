// Setup 1 as a user writes it: NodeSDK with FenraSpanProcessor, and no sdk.shutdown() anywhere.
// MODE=script: one LLM call recorded, then the script ends by itself.
// MODE=server: one LLM call, then a server idles until it is stopped (SIGTERM by its platform);
// with OWN_HANDLER=1 the app has its own SIGTERM handler that closes the server.
import { createServer } from 'node:http';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { trace } from '@opentelemetry/api';
import { FenraSpanProcessor } from '@fenra/otel';

const sdk = new NodeSDK({ spanProcessors: [new FenraSpanProcessor()], instrumentations: [] });
sdk.start();

const tracer = trace.getTracer('app');
tracer.startActiveSpan('POST /chat', { attributes: { 'fenra.billable_customer_id': 'cus_exit' } }, (root) => {
  tracer
    .startSpan('chat gpt-4o-mini', {
      attributes: {
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': 'openai',
        'gen_ai.request.model': 'gpt-4o-mini',
        'gen_ai.usage.input_tokens': 120,
        'gen_ai.usage.output_tokens': 30,
      },
    })
    .end();
  root.end();
});

if (process.env.MODE === 'server') {
  const server = createServer((_req, res) => res.end('ok')).listen(0, '127.0.0.1', () =>
    console.log('ready'),
  );
  if (process.env.OWN_HANDLER === '1') {
    process.on('SIGTERM', () => server.close(() => console.log('closed by the app')));
  }
} else {
  console.log('done');
}
