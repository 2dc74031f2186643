// @ts-check
// The same app as CommonJS: node --require @fenra/otel/register app.cjs
// (NODE_OPTIONS="--require @fenra/otel/register" works too).
const { default: OpenAI } = require('openai');
const { withFenraContext } = require('@fenra/otel');

const openai = new OpenAI();

async function main() {
  await withFenraContext({ billableCustomerId: 'cus_initech', userId: 'user_7' }, async () => {
    const r = await openai.chat.completions.create({
      model: 'gpt-4.1-mini',
      messages: [{ role: 'user', content: 'Hello from CommonJS' }],
    });
    console.log(r.choices[0]?.message.content);
  });
  // Outside withFenraContext: billed to FENRA_BILLABLE_CUSTOMER_ID.
  const r = await openai.chat.completions.create({
    model: 'gpt-4.1-mini',
    messages: [{ role: 'user', content: 'Hello again' }],
  });
  console.log(r.choices[0]?.message.content);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
