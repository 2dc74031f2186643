// The same as CommonJS.
const { createOpenAI } = require('@ai-sdk/openai');
const { generateText, streamText } = require('ai');

const openai = createOpenAI({ baseURL: process.env.OPENAI_BASE_URL, apiKey: process.env.OPENAI_API_KEY });
const model = openai.chat('gpt-4.1-mini');

async function main() {
  await generateText({ model, prompt: 'one' });
  const s = streamText({ model, prompt: 'two' });
  for await (const _ of s.textStream);
  await generateText({ model, prompt: 'three', experimental_telemetry: { isEnabled: false } });
  await generateText({
    model,
    prompt: 'four',
    experimental_telemetry: { isEnabled: true, functionId: 'f4' },
  });
  console.log('app done');
}
main();
