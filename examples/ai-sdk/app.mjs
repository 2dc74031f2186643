// @ts-check
// The Vercel AI SDK under the register entry:
//   node --import @fenra/otel/register app.mjs
// The AI SDK records spans only for calls that opt in with `experimental_telemetry`
// (it has no global switch): add `{ isEnabled: true }` to every generateText / streamText /
// embed call you want billed. The register entry's tracer provider receives them.
import { createOpenAI } from '@ai-sdk/openai';
import { generateText } from 'ai';
import { withFenraContext } from '@fenra/otel';

const openai = createOpenAI({ baseURL: process.env.OPENAI_BASE_URL, apiKey: process.env.OPENAI_API_KEY });

// The customer through the AI SDK's own telemetry metadata (key `customerId`) ...
const a = await generateText({
  model: openai.chat('gpt-4.1-mini'),
  prompt: 'Write a haiku about invoices.',
  experimental_telemetry: { isEnabled: true, functionId: 'haiku', metadata: { customerId: 'cus_globex' } },
});
console.log(a.text);

// ... or through withFenraContext, around any number of calls.
await withFenraContext({ billableCustomerId: 'cus_acme', feature: 'summaries' }, async () => {
  const b = await generateText({
    model: openai.chat('gpt-4.1-mini'),
    prompt: 'Summarise: the invoice is due Friday.',
    experimental_telemetry: { isEnabled: true },
  });
  console.log(b.text);
});
