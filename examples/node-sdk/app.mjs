// @ts-check
// The application: plain openai calls, attributed with withFenraContext.
import OpenAI from 'openai';
import { withFenraContext } from '@fenra/otel';

const openai = new OpenAI();

await withFenraContext({ billableCustomerId: 'cus_umbrella', sessionId: 'sess_1' }, async () => {
  const r = await openai.chat.completions.create({
    model: 'gpt-4.1-mini',
    messages: [{ role: 'user', content: 'Hello from an app with its own NodeSDK' }],
  });
  console.log(r.choices[0]?.message.content);
});
