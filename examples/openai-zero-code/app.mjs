// @ts-check
// An ordinary OpenAI app: no OpenTelemetry code at all. Run it with
//   FENRA_API_KEY=... FENRA_BILLABLE_CUSTOMER_ID=cus_default OTEL_SERVICE_NAME=support-bot \
//   node --import @fenra/otel/register app.mjs
// Every chat completion is billed to the customer set by withFenraContext (or the default).
import OpenAI from 'openai';
import { withFenraContext } from '@fenra/otel';

const openai = new OpenAI(); // OPENAI_API_KEY, OPENAI_BASE_URL from the environment

/** @param {string} question */
async function ask(question) {
  const r = await openai.chat.completions.create({
    model: 'gpt-4.1-mini',
    messages: [{ role: 'user', content: question }],
  });
  return r.choices[0]?.message.content ?? '';
}

// Billed to the default customer (FENRA_BILLABLE_CUSTOMER_ID).
console.log(await ask('What is OpenTelemetry?'));

// Billed to cus_acme, with the feature and a custom dimension.
await withFenraContext({ billableCustomerId: 'cus_acme', feature: 'faq', plan: 'pro' }, async () => {
  console.log(await ask('And baggage?'));
  // Streaming: ask for the usage chunk, or the call cannot be billed.
  const stream = await openai.chat.completions.create({
    model: 'gpt-4.1-mini',
    messages: [{ role: 'user', content: 'Say hi, slowly.' }],
    stream: true,
    stream_options: { include_usage: true },
  });
  for await (const chunk of stream) process.stdout.write(chunk.choices[0]?.delta.content ?? '');
  process.stdout.write('\n');
});
