// A Vercel AI SDK app that never opts in to telemetry: under the register entry its calls are
// billed anyway, except the one that turns telemetry off explicitly.
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, streamText } from 'ai';

const openai = createOpenAI({ baseURL: process.env.OPENAI_BASE_URL, apiKey: process.env.OPENAI_API_KEY });
const model = openai.chat('gpt-4.1-mini');

await generateText({ model, prompt: 'one' }); // call 0: billed
const s = streamText({ model, prompt: 'two' }); // call 1: billed (streamed)
for await (const _ of s.textStream);
await generateText({ model, prompt: 'three', experimental_telemetry: { isEnabled: false } }); // call 2: not billed
await generateText({ model, prompt: 'four', experimental_telemetry: { isEnabled: true, functionId: 'f4' } }); // call 3: billed once
console.log('app done');
