import { beforeAll, describe, expect, it } from 'vitest';
import { SOURCE_REGISTER, ensureBuilt, runNode } from './run-node.js';
import { useFakeServers } from './fake-servers.js';

// An app that starts its own NodeSDK in its main module, AFTER the register preload (the usual
// way): its provider must be the one in use (its exporter gets every span, the LLM call once,
// parented under the app's span), no raw "duplicate registration" errors, one explanation.
beforeAll(ensureBuilt, 120_000);

const fake = useFakeServers({
  FENRA_BILLABLE_CUSTOMER_ID: 'cus_late',
});
const env = fake.env;

function appSpans(stdout: string): [string, string | null][] {
  const line = /^app spans: (.*)$/m.exec(stdout);
  expect(line, stdout).not.toBeNull();
  // Sorted: exports wait for the resource's async attributes, so their order may vary.
  return (JSON.parse(line![1]!) as [string, string | null][]).sort((a, b) => a[0].localeCompare(b[0]));
}

const CASES: [string, string[]][] = [
  ['ESM app, register from source', [...SOURCE_REGISTER, 'test/register/apps/own-sdk-late.mjs']],
  [
    'ESM app, --import of the built package',
    ['--import', '@fenra/otel/register', 'test/register/apps/own-sdk-late.mjs'],
  ],
  [
    'CommonJS app, --require of the built package',
    ['--require', '@fenra/otel/register', 'test/register/apps/own-sdk-late.cjs'],
  ],
  [
    'CommonJS app, --import of the built package',
    ['--import', '@fenra/otel/register', 'test/register/apps/own-sdk-late.cjs'],
  ],
  [
    'an app with its own copy of @opentelemetry/api (a BasicTracerProvider registered through it)',
    ['--require', '@fenra/otel/register', 'test/register/apps/own-provider-other-api-copy.cjs'],
  ],
];

describe('the app starts its own NodeSDK after the register entry', () => {
  it.each(CASES)(
    '%s: the app provider wins, the register entry steps aside and says so once',
    async (_, args) => {
      const r = await runNode(args, env());
      expect(r, r.stderr).toMatchObject({ code: 0, signal: null });
      expect(r.stdout).toContain('app done');
      // The app's exporter got its own span and the LLM call, once, under it.
      expect(appSpans(r.stdout)).toEqual([
        ['chat gpt-4.1-mini', 'request'],
        ['request', null],
      ]);
      expect(fake.llm.calls).toHaveLength(1);
      expect(r.stderr).not.toContain('duplicate registration');
      expect(r.stderr.split('steps aside').length).toBe(2); // warned once
      expect(r.stderr).toContain('FenraSpanProcessor');
      // The register entry's provider is shut down: nothing billed through it.
      expect(fake.ingest.requests).toHaveLength(0);
    },
  );

  it('what the register entry recorded before the switch is still delivered (it flushes as it steps aside)', async () => {
    const r = await runNode(
      ['--require', '@fenra/otel/register', 'test/register/apps/own-sdk-after-a-call.cjs'],
      { ...env(), FENRA_SCHEDULED_DELAY_MILLIS: '60000' },
    );
    expect(r, r.stderr).toMatchObject({ code: 0, signal: null });
    expect(r.stderr.split('steps aside').length).toBe(2);
    expect(fake.llm.calls).toHaveLength(2);
    // The call before: billed once (batches wait 60 s: only the step-aside flush delivers it).
    expect(fake.ingest.accepted.map((a) => a.transaction.context['request_id'])).toEqual([
      fake.llm.calls[0]!.id,
    ]);
    // The call after: the app's provider only.
    expect(appSpans(r.stdout)).toEqual([['chat gpt-4.1-mini', null]]);
  });
});
