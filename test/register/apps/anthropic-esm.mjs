// An Anthropic app with no OpenTelemetry code: the SDK's own tracing reports to the register
// entry's tracer provider.
import Anthropic from '@anthropic-ai/sdk';
import { withFenraContext } from '../../../src/otel/with-fenra-context.ts';

const client = new Anthropic();
await withFenraContext({ billableCustomerId: 'cus_anthropic' }, () =>
  client.messages.create({
    model: 'claude-haiku-4-5-20251001',
    max_tokens: 64,
    messages: [{ role: 'user', content: 'hello' }],
  }),
);
console.log('app done');
