// A server-like app with its own SIGTERM handler that ends in process.exit() (which skips the
// register entry's exit flush): it calls flushFenra() first.
import { clearInterval, setInterval } from 'node:timers';
import OpenAI from 'openai';
import { flushFenra } from '@fenra/otel';

const openai = new OpenAI();
await openai.chat.completions.create({ model: 'gpt-4.1-mini', messages: [{ role: 'user', content: 'one' }] });
const keepAlive = setInterval(() => {}, 60_000);
process.on('SIGTERM', () => {
  clearInterval(keepAlive);
  const flush = process.env['APP_SKIPS_FLUSH'] === '1' ? Promise.resolve() : flushFenra();
  void flush.then(() => process.exit(0));
});
console.log('ready');
