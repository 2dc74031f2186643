/**
 * Setup 1 loses nothing at exit, with no code for it in the app: a NodeSDK script that ends by
 * itself and a server stopped by SIGTERM without sdk.shutdown() deliver their last transactions
 * (the processor flushes when the event loop empties and on SIGTERM/SIGINT, within a bound, then
 * lets the process end as it would have). When Fenra cannot be reached the process still ends,
 * and says what was lost and why. Real processes, a real fake Fenra on loopback.
 */
import { createServer } from 'node:net';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { IngestServer } from '../helpers/ingest-server.js';
import { startIngestServer } from '../helpers/ingest-server.js';
import { ensureBuilt, runNode, startNode } from '../register/run-node.js';

beforeAll(ensureBuilt, 120_000);

let ingest: IngestServer;
beforeEach(async () => {
  ingest = await startIngestServer({ apiKey: 'test-key' });
});
afterEach(() => ingest.close());

const APP = 'test/otel/apps/node-sdk-app.mjs';
const env = (extra: Record<string, string> = {}): Record<string, string> => ({
  FENRA_API_KEY: 'test-key',
  FENRA_ENDPOINT: ingest.url,
  ...extra,
});

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

describe('setup 1 (NodeSDK + FenraSpanProcessor) at exit', () => {
  it('a script that ends by itself delivers its call, and exits 0', async () => {
    const r = await runNode([APP], env({ MODE: 'script' }));
    expect(r, r.stderr).toMatchObject({ code: 0, signal: null });
    expect(r.stdout).toContain('done');
    expect(ingest.accepted.map((a) => a.transaction.context.billable_customer_id)).toEqual(['cus_exit']);
    expect(r.stderr).toBe('');
  });

  it('a server stopped by SIGTERM without sdk.shutdown() delivers, then ends by the signal', async () => {
    const run = startNode([APP], env({ MODE: 'server' }));
    await run.waitForStdout('ready');
    run.child.kill('SIGTERM');
    expect(await run.exited).toEqual({ code: null, signal: 'SIGTERM' });
    expect(ingest.accepted).toHaveLength(1);
  });

  it('SIGINT too', async () => {
    const run = startNode([APP], env({ MODE: 'server' }));
    await run.waitForStdout('ready');
    run.child.kill('SIGINT');
    expect(await run.exited).toEqual({ code: null, signal: 'SIGINT' });
    expect(ingest.accepted).toHaveLength(1);
  });

  it("an app with its own SIGTERM handler: delivered, and ending is the app's business", async () => {
    const run = startNode([APP], env({ MODE: 'server', OWN_HANDLER: '1' }));
    await run.waitForStdout('ready');
    run.child.kill('SIGTERM');
    // The app closes its server; the process then ends normally (not by the signal).
    expect(await run.exited).toEqual({ code: 0, signal: null });
    expect(run.stdout()).toContain('closed by the app');
    expect(ingest.accepted).toHaveLength(1);
  });

  it('Fenra unreachable: the script still ends, and says what was lost and why', async () => {
    const port = await closedPort();
    const r = await runNode(
      [APP],
      env({ MODE: 'script', FENRA_ENDPOINT: `http://127.0.0.1:${port}/usage/transactions` }),
    );
    expect(r).toMatchObject({ code: 0, signal: null });
    // The problem, once, with its cause and the count at risk...
    expect(r.stderr).toContain(
      `[FENRA_DELIVERY_FAILING] FenraOtelWarning: @fenra/otel: Cannot deliver to Fenra (http://127.0.0.1:${port}/usage/transactions): connection refused by 127.0.0.1:${port}: nothing listens there (ECONNREFUSED). 1 transaction(s) at risk`,
    );
    expect(r.stderr.match(/FENRA_DELIVERY_FAILING/g)).toHaveLength(1);
    // ... and at exit what was lost, and why.
    expect(r.stderr).toContain(
      `[FENRA_TRANSACTIONS_LOST] FenraOtelWarning: @fenra/otel: 1 transaction(s) were not delivered to Fenra (http://127.0.0.1:${port}/usage/transactions): 1 still undelivered at exit (connection refused by 127.0.0.1:${port}: nothing listens there (ECONNREFUSED)).`,
    );
  });

  it('a DNS typo in the endpoint: the cause is named', async () => {
    const r = await runNode(
      [APP],
      env({ MODE: 'script', FENRA_ENDPOINT: 'https://ingest.fenrra.invalid/usage/transactions' }),
    );
    expect(r).toMatchObject({ code: 0, signal: null });
    expect(r.stderr).toMatch(/DNS lookup of ingest\.fenrra\.invalid failed[^\n]*\((ENOTFOUND|EAI_AGAIN)\)/);
    expect(r.stderr).toMatch(/FENRA_TRANSACTIONS_LOST.*1 transaction\(s\) were not delivered/);
  });
});
