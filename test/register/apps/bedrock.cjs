// The same Bedrock app as CommonJS: one Converse call, one InvokeModel call.
const {
  BedrockRuntimeClient,
  ConverseCommand,
  InvokeModelCommand,
} = require('@aws-sdk/client-bedrock-runtime');

const client = new BedrockRuntimeClient({
  region: 'us-east-1',
  endpoint: process.env.BEDROCK_ENDPOINT,
  credentials: { accessKeyId: 'AKIDFAKEFAKEFAKE', secretAccessKey: 'not-a-real-secret' },
});
const modelId = 'anthropic.claude-3-5-haiku-20241022-v1:0';

async function main() {
  await client.send(
    new ConverseCommand({ modelId, messages: [{ role: 'user', content: [{ text: 'hello' }] }] }),
  );
  await client.send(
    new InvokeModelCommand({
      modelId,
      contentType: 'application/json',
      accept: 'application/json',
      body: JSON.stringify({
        anthropic_version: 'bedrock-2023-05-31',
        max_tokens: 64,
        messages: [{ role: 'user', content: 'hello again' }],
      }),
    }),
  );
  console.log('app done');
}
main();
