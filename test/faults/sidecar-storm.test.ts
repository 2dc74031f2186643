/**
 * HTTP 400 from Fenra while apps keep sending to `fenra-otel serve`.
 *
 * - A storm (8 s of a deploy answering 400 to everything): every part of a refused batch is
 *   refused too, so the fault is Fenra's, not the transactions': the sidecar pauses like for a
 *   refused key (a few requests, not a bisection of everything), keeps every transaction,
 *   probes, and delivers them all once Fenra accepts again. Nothing is discarded as "rejected".
 * - A rule refusing one model (a quarter of the traffic): each of those transactions is failed
 *   as "rejected", every other one is delivered.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { IngestServer } from '../helpers/ingest-server.js';
import { startIngestServer } from '../helpers/ingest-server.js';
import type { SpawnedSidecar } from '../sidecar/spawn-sidecar.js';
import { spawnSidecar } from '../sidecar/spawn-sidecar.js';
import { Exporters } from './exporters.js';
import { lostOf, report } from './summary.js';
import { until } from '../sidecar/spawn-sidecar.js';
import { deliveredAll, metric, payload, possibleDuplicates, rssMb } from './traffic.js';

const KEY = 'storm-key';
let ingest: IngestServer | undefined;
let sidecar: SpawnedSidecar | undefined;

afterAll(async () => {
  sidecar?.proc.kill('SIGKILL');
  await ingest?.close();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const REFUSED_MODEL = 'o4-mini-2025-04-16';

describe('fenra-otel serve and HTTP 400 from Fenra', () => {
  it('pauses and keeps everything (no bisection down to single refusals), then delivers it all', async () => {
    const server = await startIngestServer({ apiKey: KEY });
    ingest = server;
    const sc = await spawnSidecar(['--endpoint', server.url, '--flush-ms', '50', '--trace-wait-ms', '200'], {
      FENRA_API_KEY: KEY,
    });
    sidecar = sc;
    let maxRss = 0;
    const sample = setInterval(() => (maxRss = Math.max(maxRss, rssMb(sc.proc.pid as number))), 100);
    const exporters = new Exporters(() => sc.url);
    let tag = 0x30000;
    exporters.start(3, () => payload(tag++), 200);
    try {
      await sleep(1_500);
      server.setDefault({ kind: 'reject', message: 'deploy gone wrong' });
      const stormFrom = server.requests.length;
      await sleep(8_000);
      const during = server.requests.length - stormFrom;
      server.setDefault(undefined);
      await sleep(1_000);
      await exporters.stop();
      const { duplicates, ...delivered } = await deliveredAll(
        server,
        exporters.acked,
        'everything acknowledged delivered after the storm',
        60_000,
      );
      const refused = await metric(sc.url, 'fenra_otel_transactions_failed_total\\{reason="rejected"\\}');
      const numbers = { ...delivered, counted: refused };
      expect(refused).toBe(0);
      expect(lostOf(numbers)).toBe(0);
      // The pause: the first batch bisected to its first transaction (about log2(100) + 1
      // requests per batch in flight), then probes; not thousands of requests.
      expect(during).toBeLessThanOrEqual(40);
      expect(sc.logs()).toMatch(/Fenra refused every part of a batch/);
      const possible = await possibleDuplicates(sc.url);
      expect(duplicates).toBeLessThanOrEqual(possible);
      report({
        scenario: 'sidecar: 8 s of HTTP 400 from Fenra',
        ...numbers,
        duplicates,
        possibleDuplicates: possible,
        maxRssMb: maxRss,
        note: `${during} requests to Fenra during the storm; refusals to exporters: ${exporters.refusalText() || 'none'}`,
      });
    } finally {
      clearInterval(sample);
    }
  });

  it('a rule refusing one model beside valid traffic: each of those failed as rejected, every other one delivered', async () => {
    sidecar?.proc.kill('SIGKILL');
    await ingest?.close();
    const server = await startIngestServer({ apiKey: KEY });
    ingest = server;
    server.setRule((t) =>
      t.model === REFUSED_MODEL ? 'model not enabled for this organization' : undefined,
    );
    const sc = await spawnSidecar(['--endpoint', server.url, '--flush-ms', '50', '--trace-wait-ms', '200'], {
      FENRA_API_KEY: KEY,
    });
    sidecar = sc;
    let maxRss = 0;
    const sample = setInterval(() => (maxRss = Math.max(maxRss, rssMb(sc.proc.pid as number))), 100);
    const modelOf = new Map<string, string>();
    const exporters = new Exporters(() => sc.url);
    let tag = 0x40000;
    exporters.start(
      3,
      () => {
        const p = payload(tag++);
        p.keys.forEach((k, i) => modelOf.set(k, p.models[i] as string));
        return p;
      },
      200,
    );
    try {
      await sleep(6_000);
      await exporters.stop();
      const good = new Set([...exporters.acked].filter((k) => modelOf.get(k) !== REFUSED_MODEL));
      const refusedAcked = exporters.acked.size - good.size;
      expect(refusedAcked).toBeGreaterThan(0);
      const { duplicates, delivered } = await deliveredAll(
        server,
        good,
        'every acknowledged transaction of another model delivered',
        60_000,
      );
      const rejected = (): Promise<number> =>
        metric(sc.url, 'fenra_otel_transactions_failed_total\\{reason="rejected"\\}');
      await until(async () => (await rejected()) >= refusedAcked, 'every refused one counted', 60_000);
      const numbers = { acknowledged: exporters.acked.size, delivered, counted: await rejected() };
      expect(numbers.counted).toBe(refusedAcked);
      expect(lostOf(numbers)).toBe(0);
      expect(server.accepted.filter((a) => a.transaction.model === REFUSED_MODEL)).toEqual([]);
      const possible = await possibleDuplicates(sc.url);
      expect(duplicates).toBeLessThanOrEqual(possible);
      const pauses = (sc.logs().match(/Fenra refused every part of a batch/g) ?? []).length;
      report({
        scenario: 'sidecar: Fenra refuses one model (a quarter of the traffic)',
        ...numbers,
        duplicates,
        possibleDuplicates: possible,
        maxRssMb: maxRss,
        note: `${server.requests.length} requests to Fenra for ${exporters.acked.size} transactions; paused as if Fenra refused everything: ${pauses} time(s)`,
      });
    } finally {
      clearInterval(sample);
    }
  });
});
