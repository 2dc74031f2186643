// ES module syntax in a .js file of a package with no "type" (Node 20.19+/22 detect it and run
// it as ESM): two openai calls, billed through the register entry's ESM loader hook.
import OpenAI from 'openai';

const openai = new OpenAI();
for (const content of ['one', 'two']) {
  await openai.chat.completions.create({ model: 'gpt-4.1-mini', messages: [{ role: 'user', content }] });
}
console.log('app done');
