import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, runNode, quiet } from './run-node.js';
import { useFakeServers } from './fake-servers.js';

// The runnable examples, unchanged, against the built package (`@fenra/otel` resolves to dist
// by self-reference) and fake OpenAI and Fenra servers on loopback.
beforeAll(ensureBuilt, 120_000);

const fake = useFakeServers({
  FENRA_BILLABLE_CUSTOMER_ID: 'cus_default',
  OTEL_SERVICE_NAME: 'example',
});
const env = fake.env;

/** One transaction per call answered, in call order of the customers given. */
function expectBilled(customers: readonly string[]): Record<string, unknown>[] {
  expect(fake.llm.calls).toHaveLength(customers.length);
  expect(fake.ingest.accepted).toHaveLength(customers.length);
  const out: Record<string, unknown>[] = [];
  for (const call of fake.llm.calls) {
    const matching = fake.ingest.accepted.filter((a) => a.transaction.context['request_id'] === call.id);
    expect(matching, `transactions for ${call.id}`).toHaveLength(1);
    const t = matching[0]!.transaction;
    expect(t.provider).toBe('openai');
    expect(t.model).toBe(call.model);
    // Dialects differ in the zero-valued parts they report (the AI SDK adds cached/reasoning 0).
    expect(t.usage[0]).toMatchObject({
      type: 'tokens',
      metrics: {
        input_tokens: call.promptTokens,
        output_tokens: call.completionTokens,
        total_tokens: call.promptTokens + call.completionTokens,
      },
    });
    expect(t.context['billable_customer_id']).toBe(customers[call.index]);
    out.push(t.context);
  }
  return out;
}

describe('examples', () => {
  it('openai-zero-code (ESM, --import)', async () => {
    const r = await runNode(['--import', '@fenra/otel/register', 'examples/openai-zero-code/app.mjs'], env());
    expect(quiet(r)).toMatchObject({ code: 0, signal: null, stderr: '' });
    const ctx = expectBilled(['cus_default', 'cus_acme', 'cus_acme']);
    expect(ctx[1]).toMatchObject({ feature: 'faq', plan: 'pro', service: 'example' });
    expect(fake.llm.calls[2]!.stream).toBe(true);
  });

  it('openai-commonjs (--require)', async () => {
    const r = await runNode(['--require', '@fenra/otel/register', 'examples/openai-commonjs/app.cjs'], env());
    expect(quiet(r)).toMatchObject({ code: 0, signal: null, stderr: '' });
    const ctx = expectBilled(['cus_initech', 'cus_default']);
    expect(ctx[0]).toMatchObject({ user_id: 'user_7' });
  });

  it('ai-sdk (generateText with no telemetry opt-in, under the register entry)', async () => {
    const r = await runNode(['--import', '@fenra/otel/register', 'examples/ai-sdk/app.mjs'], env());
    expect(quiet(r)).toMatchObject({ code: 0, signal: null, stderr: '' });
    const ctx = expectBilled(['cus_globex', 'cus_acme']);
    expect(ctx[0]).toMatchObject({ feature: 'haiku' });
    expect(ctx[1]).toMatchObject({ feature: 'summaries' });
  });

  it('node-sdk (an app-owned NodeSDK with FenraSpanProcessor added by hand)', async () => {
    const r = await runNode(
      ['--import', './examples/node-sdk/instrumentation.mjs', 'examples/node-sdk/app.mjs'],
      env(),
    );
    expect(r).toMatchObject({ code: 0, signal: null });
    const ctx = expectBilled(['cus_umbrella']);
    expect(ctx[0]).toMatchObject({ session_id: 'sess_1' });
    expect(r.stderr).toContain('fenra:');
  });
});
