// An ESM openai app with no Fenra or OpenTelemetry import at all: two calls.
import OpenAI from 'openai';

const openai = new OpenAI();
for (const content of ['one', 'two']) {
  await openai.chat.completions.create({ model: 'gpt-4.1-mini', messages: [{ role: 'user', content }] });
}
console.log('app done');
