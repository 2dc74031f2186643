import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { FenraTransaction } from '../../src/fenra/transaction-schema.js';
import { BILLING_WORKS, SOURCE_REGISTER, runNode, startNode, quiet } from './run-node.js';
import { useFakeServers } from './fake-servers.js';

const fake = useFakeServers({
  OTEL_SERVICE_NAME: 'support-bot',
});
const env = fake.env;

function txs(): FenraTransaction[] {
  return fake.ingest.accepted.map((a) => a.transaction);
}

/** Each LLM call answered by the fake server is billed exactly once, with its own usage. */
function expectOnePerCall(customers: readonly string[]): void {
  expect(fake.llm.calls.length).toBe(customers.length);
  const byRequest = new Map(txs().map((t) => [t.context['request_id'], t]));
  expect(txs()).toHaveLength(fake.llm.calls.length);
  expect(byRequest.size).toBe(fake.llm.calls.length);
  for (const call of fake.llm.calls) {
    const t = byRequest.get(call.id);
    expect(t, `transaction for ${call.id}`).toBeDefined();
    expect(t!.provider).toBe('openai');
    expect(t!.model).toBe(call.model);
    expect(t!.usage).toEqual([
      {
        type: 'tokens',
        metrics: {
          input_tokens: call.promptTokens,
          output_tokens: call.completionTokens,
          total_tokens: call.promptTokens + call.completionTokens,
        },
      },
    ]);
    expect(t!.context['billable_customer_id']).toBe(customers[call.index]);
    expect(t!.context['service']).toBe('support-bot');
  }
}

describe('register entry from source (node --import tsx --import ./src/register.ts)', () => {
  it('ESM openai app: one transaction per call, customer from withFenraContext or the env default', async () => {
    const r = await runNode(
      [...SOURCE_REGISTER, 'test/register/apps/openai-esm.mjs'],
      env({ FENRA_BILLABLE_CUSTOMER_ID: 'cus_env' }),
    );
    expect(quiet(r).stderr).toBe('');
    expect(r).toMatchObject({ code: 0, signal: null });
    expect(r.stdout).toContain('app done');
    expectOnePerCall(['cus_env', 'cus_acme', 'cus_acme']);
    const inner = txs().filter((t) => t.context['billable_customer_id'] === 'cus_acme');
    for (const t of inner)
      expect(t.context).toMatchObject({ feature: 'faq', plan: 'pro', operation: 'chat' });
    // The streamed call (the third) was billed from its usage chunk.
    expect(fake.llm.calls[2]!.stream).toBe(true);
  });

  it('CommonJS openai app (register through --import): customer from FENRA_BILLABLE_CUSTOMER_ID', async () => {
    const r = await runNode(
      [...SOURCE_REGISTER, 'test/register/apps/openai-cjs.cjs'],
      env({ FENRA_BILLABLE_CUSTOMER_ID: 'cus_cjs' }),
    );
    expect(quiet(r).stderr).toBe('');
    expect(r).toMatchObject({ code: 0, signal: null });
    expectOnePerCall(['cus_cjs', 'cus_cjs']);
  });

  it('without a customer anywhere, calls are billed as unattributed, and it says so once, in zero-code terms', async () => {
    const r = await runNode([...SOURCE_REGISTER, 'test/register/apps/openai-cjs.cjs'], env());
    expect(r.code).toBe(0);
    expectOnePerCall(['unattributed', 'unattributed']);
    const said = r.stderr.split('\n').filter((l) => l.includes('"unattributed"'));
    expect(said).toEqual([
      '@fenra/otel 1 LLM call(s) had no customer and are billed as "unattributed". Wrap the calls in withFenraContext({ billableCustomerId }, fn) ' +
        "(import { withFenraContext } from '@fenra/otel'), set fenra.billable_customer_id on the request span, or set a default with FENRA_BILLABLE_CUSTOMER_ID.",
    ]);
    // Zero-code users cannot pass options nor call stats().
    expect(r.stderr).not.toMatch(/option\b|stats\(\)/);
  });

  it('says once, at its default log level and on stderr, that billing works', async () => {
    const r = await runNode(
      [...SOURCE_REGISTER, 'test/register/apps/openai-cjs.cjs'],
      env({ FENRA_BILLABLE_CUSTOMER_ID: 'cus_works' }),
    );
    expect(r.code).toBe(0);
    expect(r.stderr.match(new RegExp(BILLING_WORKS.source, 'gm'))).toHaveLength(1);
    expect(r.stderr).toContain(`Billing works: Fenra (${fake.ingest.url}) accepted the first`);
    expect(r.stdout).not.toContain('Billing works');
  });

  it('Anthropic SDK (its built-in tracing, no instrumentation package): billed once, to the customer', async () => {
    const r = await runNode(
      [...SOURCE_REGISTER, 'test/register/apps/anthropic-esm.mjs'],
      env({ ANTHROPIC_BASE_URL: fake.llm.baseUrl.replace(/\/v1$/, ''), ANTHROPIC_API_KEY: 'sk-ant-test' }),
    );
    expect(quiet(r)).toMatchObject({ code: 0, signal: null, stderr: '' });
    expect(fake.llm.calls).toHaveLength(1);
    expect(txs()).toHaveLength(1);
    const t = txs()[0]!;
    expect(t).toMatchObject({ provider: 'anthropic', model: 'claude-haiku-4-5-20251001' });
    expect(t.usage[0]).toMatchObject({ type: 'tokens', metrics: { input_tokens: 100, output_tokens: 20 } });
    expect(t.context).toMatchObject({ billable_customer_id: 'cus_anthropic', request_id: 'msg_fake_0' });
  });

  it('SIGTERM flushes, then the process ends by the signal', async () => {
    // Batches wait up to 60 s: only the shutdown flush can deliver in time.
    const run = startNode(
      [...SOURCE_REGISTER, 'test/register/apps/wait-for-signal.mjs'],
      env({ FENRA_BILLABLE_CUSTOMER_ID: 'cus_sig', FENRA_SCHEDULED_DELAY_MILLIS: '60000' }),
    );
    await run.waitForStdout('ready');
    expect(fake.ingest.accepted).toHaveLength(0);
    run.child.kill('SIGTERM');
    const end = await run.exited;
    expect(end).toEqual({ code: null, signal: 'SIGTERM' });
    expectOnePerCall(['cus_sig']);
  });

  it('SIGINT: the same', async () => {
    const run = startNode(
      [...SOURCE_REGISTER, 'test/register/apps/wait-for-signal.mjs'],
      env({ FENRA_BILLABLE_CUSTOMER_ID: 'cus_sig', FENRA_SCHEDULED_DELAY_MILLIS: '60000' }),
    );
    await run.waitForStdout('ready');
    run.child.kill('SIGINT');
    expect(await run.exited).toEqual({ code: null, signal: 'SIGINT' });
    expectOnePerCall(['cus_sig']);
  });

  it('a flush that hangs is cut at FENRA_SHUTDOWN_TIMEOUT_MILLIS, at exit and on a signal', async () => {
    fake.ingest.script([{ kind: 'hang' }, { kind: 'hang' }]);
    const r = await runNode(
      [...SOURCE_REGISTER, 'test/register/apps/openai-cjs.cjs'],
      env({ FENRA_BILLABLE_CUSTOMER_ID: 'cus_h', FENRA_SHUTDOWN_TIMEOUT_MILLIS: '1000' }),
    );
    expect(r).toMatchObject({ code: 0, signal: null });
    expect(r.stderr).toContain('did not finish within 1000 ms');
    expect(fake.ingest.requests).toHaveLength(1);

    const run = startNode(
      [...SOURCE_REGISTER, 'test/register/apps/wait-for-signal.mjs'],
      env({ FENRA_SHUTDOWN_TIMEOUT_MILLIS: '300', FENRA_SCHEDULED_DELAY_MILLIS: '60000' }),
    );
    await run.waitForStdout('ready');
    run.child.kill('SIGTERM');
    expect(await run.exited).toEqual({ code: null, signal: 'SIGTERM' });
    expect(run.stderr()).toContain('did not finish within 300 ms on SIGTERM');
  });

  it('a second signal during a (hanging) flush ends the process at once', async () => {
    fake.ingest.script([{ kind: 'hang' }]);
    const run = startNode(
      [...SOURCE_REGISTER, 'test/register/apps/wait-for-signal.mjs'],
      env({ FENRA_SHUTDOWN_TIMEOUT_MILLIS: '600000', FENRA_SCHEDULED_DELAY_MILLIS: '60000' }),
    );
    await run.waitForStdout('ready');
    run.child.kill('SIGINT');
    await fake.ingest.waitForRequests(1); // the flush is under way, and hangs
    run.child.kill('SIGINT');
    expect(await run.exited).toEqual({ code: null, signal: 'SIGINT' });
  });

  it('keeps the exit code the app set', async () => {
    const r = await runNode(
      [...SOURCE_REGISTER, '--eval', 'process.exitCode = 3'],
      env({ FENRA_BILLABLE_CUSTOMER_ID: 'cus_x' }),
    );
    expect(quiet(r)).toMatchObject({ code: 3, signal: null, stderr: '' });
  });

  it('leaves an already registered tracer provider alone and says how to add the processor', async () => {
    const r = await runNode(
      [
        '--import',
        'tsx',
        '--import',
        './test/register/apps/own-provider.mjs',
        '--import',
        './src/register.ts',
        'test/register/apps/openai-esm.mjs',
      ],
      env({ FENRA_BILLABLE_CUSTOMER_ID: 'cus_env' }),
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('app done');
    expect(r.stderr).toContain('already registered');
    expect(r.stderr).toContain('FenraSpanProcessor');
    expect(r.stderr.split('already registered').length).toBe(2); // once
    expect(fake.llm.calls).toHaveLength(3);
    expect(fake.ingest.requests).toHaveLength(0);
  });

  it('without FENRA_API_KEY the app runs, nothing is sent to Fenra (local mode), and that is printed once (not twice)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'fenra-register-nokey-'));
    const noKey = env({ FENRA_DATA_DIR: dataDir });
    delete noKey['FENRA_API_KEY'];
    const r = await runNode([...SOURCE_REGISTER, 'test/register/apps/openai-cjs.cjs'], noKey);
    expect(r.code).toBe(0);
    expect(fake.llm.calls).toHaveLength(2);
    expect(fake.ingest.requests).toHaveLength(0);
    expect(r.stderr).toContain('FENRA_API_KEY');
    // Printed by the register entry's diag logger; not repeated as a Node process warning.
    expect(r.stderr.split('FENRA_API_KEY').length - 1).toBe(1);
    expect(r.stderr).not.toContain('FenraOtelWarning');
    // Zero-code has no code options: the message names the variable only.
    expect(r.stderr).not.toContain('apiKey');
    expect(r.stderr).toContain(
      `LOCAL MODE. What would be billed is written to ${join(dataDir, 'transactions.jsonl')}`,
    );
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('a malformed FENRA_ENDPOINT: the app runs, nothing is sent anywhere, one error names the variable', async () => {
    const r = await runNode(
      [...SOURCE_REGISTER, 'test/register/apps/openai-cjs.cjs'],
      env({ FENRA_ENDPOINT: 'htps//x' }),
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('app done');
    expect(fake.llm.calls).toHaveLength(2);
    expect(fake.ingest.requests).toHaveLength(0);
    expect(r.stderr.split('FENRA_ENDPOINT value "htps//x" is not valid').length - 1).toBe(1);
    expect(r.stderr).toContain('the default is not used instead');
    expect(r.stderr).not.toContain('endpoint option');
    expect(r.stderr).not.toContain('FenraOtelWarning');
  });

  it('FENRA_DISABLED=true starts nothing: the app runs, nothing is sent', async () => {
    const r = await runNode(
      [...SOURCE_REGISTER, 'test/register/apps/openai-cjs.cjs'],
      env({ FENRA_DISABLED: 'true' }),
    );
    expect(quiet(r)).toMatchObject({ code: 0, stderr: '' });
    expect(fake.llm.calls).toHaveLength(2);
    expect(fake.ingest.requests).toHaveLength(0);
  });

  it('also exports every span over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set', async () => {
    const received: { path: string; type: string | undefined; bytes: number }[] = [];
    const otlp = createServer((req, res) => {
      let bytes = 0;
      req.on('data', (c: Buffer) => (bytes += c.length));
      req.on('end', () => {
        received.push({ path: req.url ?? '', type: req.headers['content-type'], bytes });
        res.writeHead(200, { 'content-type': 'application/x-protobuf' });
        res.end();
      });
    });
    await new Promise<void>((resolve) => otlp.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = otlp.address() as AddressInfo;
      const r = await runNode(
        [...SOURCE_REGISTER, 'test/register/apps/openai-cjs.cjs'],
        env({
          FENRA_BILLABLE_CUSTOMER_ID: 'cus_otlp',
          OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
        }),
      );
      expect(quiet(r)).toMatchObject({ code: 0, stderr: '' });
      expectOnePerCall(['cus_otlp', 'cus_otlp']);
      expect(received.length).toBeGreaterThan(0);
      expect(received[0]).toMatchObject({ path: '/v1/traces', type: 'application/x-protobuf' });
      expect(received[0]!.bytes).toBeGreaterThan(0);
    } finally {
      await new Promise<void>((resolve) => otlp.close(() => resolve()));
    }
  });
});
