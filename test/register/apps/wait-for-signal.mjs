// One call, then idles until killed (a server-like process).
import { setInterval } from 'node:timers';
import OpenAI from 'openai';

const openai = new OpenAI();
await openai.chat.completions.create({ model: 'gpt-4.1-mini', messages: [{ role: 'user', content: 'one' }] });
console.log('ready');
setInterval(() => {}, 60_000);
