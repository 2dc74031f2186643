/**
 * Fenra down for two minutes (every request answered 503) while apps keep sending at a steady
 * rate, against the sidecar with a small queue (`--max-queue 400`), in memory and with a
 * spool. The queue fills; the sidecar then refuses new requests before reading them (429 +
 * Retry-After), and the exporters keep their data and retry. Nothing acknowledged may be lost
 * (no `queue_full` drop: a batch that used its retry budget goes back to a queue whose
 * capacity counted it), and once Fenra is back everything is delivered once.
 *
 * Time: the sidecar runs in this process with its delivery pipeline on a clock running
 * COMPRESSION times faster (its backoffs, pauses and per-batch deadlines, the state that a
 * long outage exercises): 120 virtual seconds of outage last 120 / COMPRESSION real ones. The
 * exporters, the trace holding and the HTTP side run in real time. RSS is this test process's
 * (the sidecar, the exporters and the fake Fenra together).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveServeConfig } from '../../src/config/serve.js';
import type { Sleep } from '../../src/internal/sleep.js';
import { abortableSleep } from '../../src/internal/sleep.js';
import { startSidecar } from '../../src/sidecar/sidecar.js';
import type { IngestServer } from '../helpers/ingest-server.js';
import { startIngestServer } from '../helpers/ingest-server.js';
import { Exporters } from './exporters.js';
import { lostOf, report, rssSampler } from './summary.js';
import { deliveredAll, payload } from './traffic.js';

const KEY = 'outage-key';
const COMPRESSION = 6;
const OUTAGE_VIRTUAL_MS = 120_000;
const dir = mkdtempSync(join(tmpdir(), 'fenra-outage-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A clock `k` times faster for the pipeline's waits and deadlines. */
function compressed(k: number): { now: () => number; sleep: Sleep } {
  const t0 = Date.now();
  return {
    now: () => t0 + (Date.now() - t0) * k,
    sleep: (ms, signal) => abortableSleep(ms / k, signal),
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function outage(mode: 'memory' | 'spool', tagBase: number): Promise<void> {
  const ingest: IngestServer = await startIngestServer({ apiKey: KEY });
  const flags: Record<string, string> = {
    port: '0',
    'grpc-port': '0',
    'max-queue': '400',
    'flush-ms': '50',
    'trace-wait-ms': '200',
    'retry-after-s': '1',
    ...(mode === 'spool' ? { 'spool-dir': join(dir, 'spool') } : {}),
  };
  const { config, problems } = resolveServeConfig({
    flags,
    env: { FENRA_API_KEY: KEY, FENRA_ENDPOINT: ingest.url },
  });
  expect(problems).toEqual([]);
  const clock = compressed(COMPRESSION);
  const sidecar = await startSidecar(config, { pipeline: clock });
  const url = `http://127.0.0.1:${sidecar.address.port}`;
  const rss = rssSampler();
  // About 400 transactions a second: 3 exporters, each a request of the recorded traces every 200 ms.
  const exporters = new Exporters(() => url);
  let tag = tagBase;
  exporters.start(3, () => payload(tag++), 200);
  try {
    await sleep(2_000);
    ingest.setDefault({ kind: 'status', status: 503 }); // Fenra goes down
    const downFrom = ingest.requests.length;
    await sleep(OUTAGE_VIRTUAL_MS / COMPRESSION);
    const during = ingest.requests.length - downFrom;
    ingest.setDefault(undefined); // and comes back
    await sleep(2_000);
    await exporters.stop();
    const { duplicates, ...numbers } = await deliveredAll(
      ingest,
      exporters.acked,
      'everything acknowledged delivered',
      60_000,
    );
    const s = sidecar.stats().delivery;
    expect(lostOf(numbers)).toBe(0);
    expect(s.dropped.queue_full).toBe(0);
    expect(s.failed).toEqual({ rejected: 0, http_error: 0 });
    // The queue was full and the sidecar pushed back instead of dropping.
    expect(exporters.refusals.get(429) ?? 0).toBeGreaterThan(0);
    expect(duplicates).toBeLessThanOrEqual(s.possibleDuplicates);
    report({
      scenario: `sidecar: Fenra down 2 min at ~400 tx/s, ${mode}`,
      ...numbers,
      duplicates,
      possibleDuplicates: s.possibleDuplicates,
      maxRssMb: rss.stop(),
      note:
        `${during} requests to Fenra during the outage (${OUTAGE_VIRTUAL_MS / 1000} s on the pipeline's clock, ` +
        `${OUTAGE_VIRTUAL_MS / COMPRESSION / 1000} s real); refusals to exporters: ${exporters.refusalText()}; RSS of the test process`,
    });
  } finally {
    await sidecar.shutdown();
    await ingest.close();
  }
}

describe('fenra-otel serve while Fenra is down for two minutes', () => {
  it('memory and spool: nothing acknowledged is lost, the sidecar pushes back, everything is delivered after', async () => {
    await Promise.all([outage('memory', 0x10000), outage('spool', 0x20000)]);
  });
});
