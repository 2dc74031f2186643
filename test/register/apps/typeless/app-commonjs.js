// CommonJS in a .js file of a package with no "type": two openai calls, no ESM hook needed.
/* global require */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS app on purpose
const { default: OpenAI } = require('openai');

const openai = new OpenAI();
const ask = (content) =>
  openai.chat.completions.create({ model: 'gpt-4.1-mini', messages: [{ role: 'user', content }] });
ask('one')
  .then(() => ask('two'))
  .then(() => console.log('app done'));
