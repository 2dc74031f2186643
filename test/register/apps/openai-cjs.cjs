// The same kind of app as CommonJS: two calls, billed to FENRA_BILLABLE_CUSTOMER_ID.
const { default: OpenAI } = require('openai');

const openai = new OpenAI();
const ask = (content) =>
  openai.chat.completions.create({ model: 'gpt-4.1-mini', messages: [{ role: 'user', content }] });

ask('one')
  .then(() => ask('two'))
  .then(() => console.log('app done'));
