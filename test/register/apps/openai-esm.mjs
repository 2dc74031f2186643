// An unmodified-style OpenAI app (ESM): three calls, the second and third inside withFenraContext.
import OpenAI from 'openai';
import { withFenraContext } from '../../../src/otel/with-fenra-context.ts';

const openai = new OpenAI();
const ask = (content) =>
  openai.chat.completions.create({ model: 'gpt-4.1-mini', messages: [{ role: 'user', content }] });

await ask('one');
await withFenraContext({ billableCustomerId: 'cus_acme', feature: 'faq', plan: 'pro' }, async () => {
  await ask('two');
  const stream = await openai.chat.completions.create({
    model: 'gpt-4.1-mini',
    messages: [{ role: 'user', content: 'three' }],
    stream: true,
    stream_options: { include_usage: true },
  });
  for await (const _ of stream);
});
console.log('app done');
