import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { IngestServer } from '../helpers/ingest-server.js';
import { startIngestServer } from '../helpers/ingest-server.js';
import type { FakeBedrockServer } from './fake-bedrock-server.js';
import { startFakeBedrockServer } from './fake-bedrock-server.js';
import { SOURCE_REGISTER, ensureBuilt, runNode, withoutBillingWorks } from './run-node.js';

// AWS Bedrock, zero-code: @aws-sdk/client-bedrock-runtime under the register entry
// (@opentelemetry/instrumentation-aws-sdk), against a fake Bedrock endpoint on loopback.
beforeAll(ensureBuilt, 120_000);

let ingest: IngestServer;
let bedrock: FakeBedrockServer;
beforeEach(async () => {
  ingest = await startIngestServer({ apiKey: 'test-key' });
  bedrock = await startFakeBedrockServer();
});
afterEach(async () => {
  await ingest.close();
  await bedrock.close();
});

describe('Bedrock (Converse and InvokeModel) under the register entry', () => {
  it.each([
    ['ESM, built package', ['--import', '@fenra/otel/register', 'test/register/apps/bedrock.mjs']],
    ['CommonJS, built package', ['--require', '@fenra/otel/register', 'test/register/apps/bedrock.cjs']],
    ['ESM, from source', [...SOURCE_REGISTER, 'test/register/apps/bedrock.mjs']],
  ])('%s: one transaction per call, with its usage', async (_, args) => {
    const r = await runNode(args, {
      FENRA_API_KEY: 'test-key',
      FENRA_ENDPOINT: ingest.url,
      FENRA_BILLABLE_CUSTOMER_ID: 'cus_bedrock',
      BEDROCK_ENDPOINT: bedrock.url,
      AWS_EC2_METADATA_DISABLED: 'true',
    });
    expect(r, r.stderr).toMatchObject({ code: 0, signal: null });
    // The AWS SDK's own notice that its releases from 2027 on need Node 22 is the only output.
    expect(
      withoutBillingWorks(r.stderr).replace(
        /^\(node:\d+\) Warning: NodeVersionSupportWarning[^]*?--trace-warnings[^\n]*\n/m,
        '',
      ),
    ).toBe('');
    expect(r.stdout).toContain('app done');
    expect(bedrock.calls.map((c) => c.api)).toEqual(['converse', 'invoke']);
    const txs = ingest.accepted.map((a) => a.transaction);
    expect(txs).toHaveLength(2);
    for (const call of bedrock.calls) {
      const t = txs.find((x) => x.usage[0]?.metrics['input_tokens'] === call.inputTokens);
      expect(t, `transaction for ${call.api}`).toBeDefined();
      expect(t).toMatchObject({
        provider: 'bedrock',
        model: call.modelId,
        context: { billable_customer_id: 'cus_bedrock', region: 'us-east-1' },
      });
      expect(t!.usage[0]!.metrics['output_tokens']).toBe(call.outputTokens);
    }
  });
});
