// @ts-check
// The Vercel AI SDK under the register entry:
//   node --import @fenra/otel/register app.mjs
// No opt-in needed: the register entry turns the AI SDK's telemetry on for every generateText,
// streamText, generateObject, streamObject, embed and embedMany call (and agents) that does not
// set `experimental_telemetry.isEnabled` itself, without recording prompts or outputs unless the
// call asks for them. `isEnabled: false` on a call keeps it out.
import { createOpenAI } from '@ai-sdk/openai';
import { generateText } from 'ai';
import { withFenraContext } from '@fenra/otel';

const openai = createOpenAI({ baseURL: process.env.OPENAI_BASE_URL, apiKey: process.env.OPENAI_API_KEY });

// The customer through the AI SDK's own telemetry metadata (key `customerId`) ...
const a = await generateText({
  model: openai.chat('gpt-4.1-mini'),
  prompt: 'Write a haiku about invoices.',
  experimental_telemetry: { functionId: 'haiku', metadata: { customerId: 'cus_globex' } },
});
console.log(a.text);

// ... or through withFenraContext, around any number of calls (no telemetry option at all).
await withFenraContext({ billableCustomerId: 'cus_acme', feature: 'summaries' }, async () => {
  const b = await generateText({
    model: openai.chat('gpt-4.1-mini'),
    prompt: 'Summarise: the invoice is due Friday.',
  });
  console.log(b.text);
});
