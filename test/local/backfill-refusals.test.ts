/**
 * A back-fill (`convert --send`) meeting HTTP 400 from Fenra, against the ingest server: a
 * batch of nothing but refused transactions is not a fault of Fenra's and does not stop the
 * run; Fenra refusing everything stops it once a probe of other transactions is refused too.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/library.js';
import { backfill } from '../../src/local/backfill.js';
import type { IngestServer } from '../helpers/ingest-server.js';
import { startIngestServer } from '../helpers/ingest-server.js';
import { makeBatch, spanIds } from '../helpers/priced.js';

const KEY = 'k-refusals';
let dir: string;
let server: IngestServer;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fenra-refusals-'));
  server = await startIngestServer({ apiKey: KEY });
});
afterEach(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

function config() {
  return resolveConfig(
    {
      apiKey: KEY,
      endpoint: server.url,
      maxExportBatchSize: 10,
      concurrencyLimit: 1,
      requestTimeoutMillis: 2_000,
    },
    {},
  );
}

describe('convert --send and HTTP 400 from Fenra', () => {
  it('a first batch of nothing but refused transactions: the run goes on, those are failed, all the others delivered', async () => {
    server.setRule((t) =>
      t.model === 'forbidden-model' ? 'model not enabled for this organization' : undefined,
    );
    const bad = makeBatch(10, { model: 'forbidden-model' });
    const good = makeBatch(30);
    const r = await backfill([...bad, ...good], {
      config: config(),
      dataDir: dir,
      pipelineDeps: { rejectingProbeMillis: 20 },
    });
    expect(r.stoppedBecause).toBeUndefined();
    expect(r).toMatchObject({ total: 40, sent: 30, failed: 10, dropped: 0 });
    expect(spanIds(server.accepted).sort()).toEqual(spanIds(good).sort());
  });

  it('two refused transactions after the last good ones: every good one delivered, those two not, and the stop says why', async () => {
    server.setRule((t) =>
      t.model === 'forbidden-model' ? 'model not enabled for this organization' : undefined,
    );
    const good = makeBatch(18);
    const bad = makeBatch(2, { model: 'forbidden-model' });
    const r = await backfill([...good, ...bad], {
      config: config(),
      dataDir: dir,
      pipelineDeps: { rejectingProbeMillis: 20 },
    });
    // Nothing was accepted after they were refused: a storm beginning just then looks the same.
    expect(r).toMatchObject({ total: 20, sent: 18, failed: 0, dropped: 2 });
    expect(r.stoppedBecause).toContain('model not enabled for this organization');
    expect(r.stoppedBecause).toContain('every transaction left is refused by its rules');
    expect(spanIds(server.accepted).sort()).toEqual(spanIds(good).sort());
  });

  it('Fenra answering 400 to everything: stopped once a probe of other transactions is refused too, nothing failed', async () => {
    server.setDefault({ kind: 'reject', message: 'deploy gone wrong' });
    const items = makeBatch(40);
    const r = await backfill(items, {
      config: config(),
      dataDir: dir,
      pipelineDeps: { rejectingProbeMillis: 20 },
    });
    expect(r.stoppedBecause).toContain('a fault on its side');
    expect(r.stoppedBecause).toContain('deploy gone wrong');
    expect(r).toMatchObject({ total: 40, sent: 0, failed: 0, dropped: 40 });
    // The first batch bisected to two single refusals (10, 5, 3, 2, 1, 1), then put at the
    // back: the probe is the next batch.
    const sent = (i: number): string[] =>
      (
        JSON.parse(server.requests[i]?.body ?? '{}') as { transactions: { context: { span_id: string } }[] }
      ).transactions.map((t) => t.context.span_id);
    expect(server.requests.slice(0, 6).map((q) => q.count)).toEqual([10, 5, 3, 2, 1, 1]);
    expect(sent(0)).toEqual(spanIds(items.slice(0, 10)));
    expect(sent(6)).toEqual(spanIds(items.slice(10, 20)));
  });
});
