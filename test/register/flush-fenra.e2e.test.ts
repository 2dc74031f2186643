import { beforeAll, describe, expect, it } from 'vitest';
import { flushFenra } from '../../src/register/flush.js';
import { ensureBuilt, startNode, withoutBillingWorks } from './run-node.js';
import { useFakeServers } from './fake-servers.js';

// `flushFenra()` from '@fenra/otel' acts on the SDK the register entry installed (another
// bundle, the same process), for apps that end themselves with process.exit() on SIGTERM.
beforeAll(ensureBuilt, 120_000);

const fake = useFakeServers({
  FENRA_BILLABLE_CUSTOMER_ID: 'cus_flush',
  // Batches wait up to 60 s: only a flush can deliver in time.
  FENRA_SCHEDULED_DELAY_MILLIS: '60000',
});
const env = fake.env;

async function runUntilSigterm(extra: Record<string, string> = {}): Promise<{ code: number | null }> {
  const run = startNode(
    ['--import', '@fenra/otel/register', 'test/register/apps/own-sigterm-handler.mjs'],
    env(extra),
  );
  await run.waitForStdout('ready');
  run.child.kill('SIGTERM');
  const end = await run.exited;
  expect(withoutBillingWorks(run.stderr())).toBe('');
  return end;
}

describe('flushFenra', () => {
  it("delivers what the register entry holds before the app's own SIGTERM handler exits", async () => {
    expect(await runUntilSigterm()).toMatchObject({ code: 0 });
    expect(fake.llm.calls).toHaveLength(1);
    expect(fake.ingest.accepted).toHaveLength(1);
    expect(fake.ingest.accepted[0]!.transaction).toMatchObject({
      model: fake.llm.calls[0]!.model,
      context: { billable_customer_id: 'cus_flush', request_id: fake.llm.calls[0]!.id },
    });
  });

  it('without it, such an app loses the last batch (why it exists)', async () => {
    expect(await runUntilSigterm({ APP_SKIPS_FLUSH: '1' })).toMatchObject({ code: 0 });
    expect(fake.llm.calls).toHaveLength(1);
    expect(fake.ingest.accepted).toHaveLength(0);
  });

  it('is a no-op that resolves when the register entry is not running', async () => {
    await expect(flushFenra()).resolves.toBeUndefined();
    await expect(flushFenra({ timeoutMillis: 1 })).resolves.toBeUndefined();
  });
});
