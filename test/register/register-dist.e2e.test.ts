import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, runNode, quiet, withoutBillingWorks } from './run-node.js';
import { useFakeServers } from './fake-servers.js';

// The built package, as users load it. `npm test` builds first (pretest); a lone run builds
// here when the register bundle is missing.
beforeAll(ensureBuilt, 120_000);

const fake = useFakeServers({
  FENRA_BILLABLE_CUSTOMER_ID: 'cus_dist',
});
const env = fake.env;

function expectOnePerCall(n: number): void {
  expect(fake.llm.calls).toHaveLength(n);
  const ids = fake.ingest.accepted.map((a) => a.transaction.context['request_id']).sort();
  expect(ids).toEqual(fake.llm.calls.map((c) => c.id).sort());
  for (const a of fake.ingest.accepted) {
    const call = fake.llm.calls.find((c) => c.id === a.transaction.context['request_id'])!;
    expect(a.transaction).toMatchObject({ provider: 'openai', model: call.model });
    expect(a.transaction.usage[0]).toMatchObject({ metrics: { input_tokens: call.promptTokens } });
    expect(a.transaction.context['billable_customer_id']).toBe('cus_dist');
  }
}

describe('register entry from the built dist', () => {
  it('node --require @fenra/otel/register app.cjs (CommonJS build)', async () => {
    const r = await runNode(
      ['--require', '@fenra/otel/register', 'test/register/apps/openai-cjs.cjs'],
      env(),
    );
    expect(quiet(r)).toMatchObject({ code: 0, signal: null, stderr: '' });
    expectOnePerCall(2);
  });

  it.each([
    ['--require', '@fenra/otel/register'],
    ['--import', '@fenra/otel/register'],
  ])(
    'node %s %s -e "...": code with no main script (hooked; builtins stay builtins)',
    async (flag, entry) => {
      // Code given with -e resolves its modules without a parent: on Node 22 import-in-the-middle's
      // in-thread hook turned the builtin `module` into a CommonJS file to open, and the app died.
      const r = await runNode(
        [
          flag,
          entry,
          '-e',
          "const m = require('module'); if (typeof m.createRequire !== 'function') process.exit(3); require('./test/register/apps/openai-cjs.cjs');",
        ],
        env(),
      );
      expect(quiet(r)).toMatchObject({ code: 0, signal: null, stderr: '' });
      expect(r.stdout).toContain('app done');
      expectOnePerCall(2);
    },
  );

  it('node --import @fenra/otel/register app.mjs (ESM build, loader hook)', async () => {
    const r = await runNode(
      ['--import', '@fenra/otel/register', 'test/register/apps/openai-esm-plain.mjs'],
      env(),
    );
    expect(quiet(r)).toMatchObject({ code: 0, signal: null, stderr: '' });
    expect(r.stdout).toContain('app done');
    expectOnePerCall(2);
  });

  it('node --require @fenra/otel/register app.mjs (the CommonJS build registers the ESM hook too)', async () => {
    const r = await runNode(
      ['--require', '@fenra/otel/register', 'test/register/apps/openai-esm-plain.mjs'],
      env(),
    );
    expect(quiet(r)).toMatchObject({ code: 0, signal: null, stderr: '' });
    expectOnePerCall(2);
  });

  it('node --import @fenra/otel/register app.js: ESM syntax in a package with no "type" (run as ESM by detection)', async () => {
    const r = await runNode(
      ['--import', '@fenra/otel/register', 'test/register/apps/typeless/app.js'],
      env(),
    );
    expect(r).toMatchObject({ code: 0, signal: null });
    // Node's own notice about the detection is the only thing on stderr.
    expect(
      withoutBillingWorks(r.stderr).replace(
        /\(node:\d+\) \[MODULE_TYPELESS_PACKAGE_JSON\][^]*?--trace-warnings[^\n]*\n/,
        '',
      ),
    ).toBe('');
    expect(r.stdout).toContain('app done');
    expectOnePerCall(2);
  });

  it('node --import @fenra/otel/register app.js: CommonJS in a package with no "type"', async () => {
    const r = await runNode(
      ['--import', '@fenra/otel/register', 'test/register/apps/typeless/app-commonjs.js'],
      env(),
    );
    expect(quiet(r)).toMatchObject({ code: 0, signal: null, stderr: '' });
    expectOnePerCall(2);
  });

  it('NODE_OPTIONS="--import @fenra/otel/register" with an ESM app', async () => {
    const r = await runNode(
      ['test/register/apps/openai-esm-plain.mjs'],
      env({ NODE_OPTIONS: '--import @fenra/otel/register' }),
    );
    expect(quiet(r)).toMatchObject({ code: 0, signal: null, stderr: '' });
    expectOnePerCall(2);
  });

  it('loaded twice (NODE_OPTIONS and a flag): starts once, bills once', async () => {
    const r = await runNode(
      ['--require', '@fenra/otel/register', 'test/register/apps/openai-cjs.cjs'],
      env({ NODE_OPTIONS: '--import @fenra/otel/register' }),
    );
    expect(quiet(r)).toMatchObject({ code: 0, signal: null, stderr: '' });
    expectOnePerCall(2);
  });

  // The local sink checks each record against the wire schema: zod, which the built entry loads
  // at that first use from the file beside it (register-zod.cjs), in both formats.
  it.each([
    ['--import', 'test/register/apps/openai-esm-plain.mjs'],
    ['--require', 'test/register/apps/openai-cjs.cjs'],
  ])('without a key (local mode, %s): each call is written to the local sink', async (flag, app) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'fenra-register-dist-local-'));
    try {
      const noKey = env({ FENRA_DATA_DIR: dataDir });
      delete noKey['FENRA_API_KEY'];
      const r = await runNode([flag, '@fenra/otel/register', app], noKey);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).not.toMatch(/error/i);
      expect(fake.ingest.requests).toHaveLength(0);
      const lines = readFileSync(join(dataDir, 'transactions.jsonl'), 'utf8').trim().split('\n');
      const ids = lines.map(
        (l) =>
          (JSON.parse(l) as { transaction: { context: Record<string, unknown> } }).transaction.context[
            'request_id'
          ],
      );
      expect(ids.sort()).toEqual(fake.llm.calls.map((c) => c.id).sort());
      expect(ids).toHaveLength(2);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
