import { beforeAll, describe, expect, it } from 'vitest';
import { withTelemetryOnByDefault } from '../../src/register/ai-sdk-telemetry.js';
import { SOURCE_REGISTER, ensureBuilt, runNode, quiet } from './run-node.js';
import { useFakeServers } from './fake-servers.js';

// The Vercel AI SDK with no `experimental_telemetry` opt-in, against a fake OpenAI server:
// billed once per call under the register entry; `isEnabled: false` is respected.
beforeAll(ensureBuilt, 120_000);

const fake = useFakeServers({
  FENRA_BILLABLE_CUSTOMER_ID: 'cus_ai',
});
const env = fake.env;

describe('withTelemetryOnByDefault', () => {
  it('turns telemetry on, without inputs and outputs, unless the call decided', () => {
    expect(withTelemetryOnByDefault({ prompt: 'x' })).toEqual({
      prompt: 'x',
      experimental_telemetry: { isEnabled: true, recordInputs: false, recordOutputs: false },
    });
    expect(
      withTelemetryOnByDefault({ experimental_telemetry: { functionId: 'f', recordInputs: true } }),
    ).toEqual({
      experimental_telemetry: { isEnabled: true, functionId: 'f', recordInputs: true, recordOutputs: false },
    });
    for (const decided of [
      { experimental_telemetry: { isEnabled: false } },
      { experimental_telemetry: { isEnabled: true } },
    ])
      expect(withTelemetryOnByDefault(decided)).toBe(decided);
    expect(withTelemetryOnByDefault(undefined)).toBeUndefined();
    expect(withTelemetryOnByDefault('prompt')).toBe('prompt');
  });
});

describe('Vercel AI SDK (ai 6) with no telemetry opt-in, under the register entry', () => {
  it.each([
    ['ESM, built package', ['--import', '@fenra/otel/register', 'test/register/apps/ai-sdk-no-optin.mjs']],
    [
      'CommonJS, built package',
      ['--require', '@fenra/otel/register', 'test/register/apps/ai-sdk-no-optin.cjs'],
    ],
    ['ESM, from source', [...SOURCE_REGISTER, 'test/register/apps/ai-sdk-no-optin.mjs']],
  ])('%s: each call billed once, the isEnabled:false one not at all', async (_, args) => {
    const r = await runNode(args, env());
    expect(quiet(r)).toMatchObject({ code: 0, signal: null, stderr: '' });
    expect(r.stdout).toContain('app done');
    expect(fake.llm.calls).toHaveLength(4);
    const billed = [0, 1, 3].map((i) => fake.llm.calls[i]!);
    expect(fake.ingest.accepted.map((a) => a.transaction.context['request_id']).sort()).toEqual(
      billed.map((c) => c.id).sort(),
    );
    for (const call of billed) {
      const t = fake.ingest.accepted.find(
        (a) => a.transaction.context['request_id'] === call.id,
      )!.transaction;
      expect(t).toMatchObject({ provider: 'openai', model: call.model });
      expect(t.usage[0]).toMatchObject({
        metrics: { input_tokens: call.promptTokens, output_tokens: call.completionTokens },
      });
      expect(t.context['billable_customer_id']).toBe('cus_ai');
    }
    expect(fake.llm.calls[1]!.stream).toBe(true);
    const f4 = fake.ingest.accepted.find(
      (a) => a.transaction.context['request_id'] === fake.llm.calls[3]!.id,
    )!;
    expect(f4.transaction.context['feature']).toBe('f4');
  });

  it('OTEL_NODE_DISABLED_INSTRUMENTATIONS=ai: back to the AI SDK default (only the opted-in call)', async () => {
    const r = await runNode(['--import', '@fenra/otel/register', 'test/register/apps/ai-sdk-no-optin.mjs'], {
      ...env(),
      OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'ai',
    });
    expect(quiet(r)).toMatchObject({ code: 0, stderr: '' });
    expect(fake.ingest.accepted.map((a) => a.transaction.context['request_id'])).toEqual([
      fake.llm.calls[3]!.id,
    ]);
  });
});
