/**
 * The spool's disk refuses writes while apps keep sending to `fenra-otel serve --spool-dir`:
 * - full: a small tmpfs filled to the last byte; the sidecar is also killed and restarted
 *   while the disk is full (its lock file is rewritten in place);
 * - read-only: the tmpfs remounted read-only for a while, then read-write; then a kill -9 and
 *   a restart, which must not send again what was delivered.
 * The first failure flips readiness (503 with the reason) and is logged once; requests get 503
 * + Retry-After meanwhile (the exporters keep their data); what is spooled is still delivered;
 * once the disk takes writes the sidecar is ready again (logged once) and nothing acknowledged
 * is lost. As root a real tmpfs is mounted; otherwise the sidecar runs in this process on the
 * spool's file-system seam made to fail the same way (no restarts then).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveServeConfig } from '../../src/config/serve.js';
import { startSidecar } from '../../src/sidecar/sidecar.js';
import type { RunningSidecar } from '../../src/sidecar/sidecar.js';
import { faultyFs } from '../helpers/faulty-fs.js';
import type { IngestServer } from '../helpers/ingest-server.js';
import { startIngestServer } from '../helpers/ingest-server.js';
import type { SpawnedSidecar } from '../sidecar/spawn-sidecar.js';
import { spawnSidecar, until } from '../sidecar/spawn-sidecar.js';
import type { SmallDisk } from './disk.js';
import { mountSmallDisk } from './disk.js';
import { Exporters } from './exporters.js';
import { lostOf, report, rssSampler } from './summary.js';
import { deliveredAll, payload, possibleDuplicates, rssMb } from './traffic.js';

const KEY = 'disk-key';
const root = mkdtempSync(join(tmpdir(), 'fenra-disk-'));
const disks: SmallDisk[] = [];
const spawned: SpawnedSidecar[] = [];
afterAll(async () => {
  for (const s of spawned) s.proc.kill('SIGKILL');
  await Promise.all(spawned.map((s) => s.exited));
  for (const d of disks) d.unmount();
  rmSync(root, { recursive: true, force: true });
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const ready = async (url: string): Promise<{ status: number; text: string }> => {
  const r = await fetch(`${url}/readyz`);
  return { status: r.status, text: await r.text() };
};

interface Summary {
  ingest: IngestServer;
  exporters: Exporters;
  possible: number;
  maxRss: number;
  note: string;
}

async function check(name: string, s: Summary): Promise<void> {
  const { duplicates, ...numbers } = await deliveredAll(
    s.ingest,
    s.exporters.acked,
    'everything acknowledged delivered',
    60_000,
  );
  expect(lostOf(numbers)).toBe(0);
  expect(s.exporters.refusals.get(503) ?? 0).toBeGreaterThan(0);
  expect(duplicates).toBeLessThanOrEqual(s.possible);
  report({
    scenario: name,
    ...numbers,
    duplicates,
    possibleDuplicates: s.possible,
    maxRssMb: s.maxRss,
    note: `${s.note}; refusals to exporters: ${s.exporters.refusalText()}`,
  });
}

/** The episode's log lines: one error when it starts, one line when it ends. */
function episodes(logs: string): { failed: number; recovered: number } {
  return {
    failed: (logs.match(/"level":"error".*cannot be written \(/g) ?? []).length,
    recovered: (logs.match(/can be written again/g) ?? []).length,
  };
}

describe('fenra-otel serve when the spool disk refuses writes', () => {
  const full = mountSmallDisk(join(root, 'full'), 8);
  const ro = mountSmallDisk(join(root, 'ro'), 64);
  if (full) disks.push(full);
  if (ro) disks.push(ro);

  it.skipIf(full === undefined)(
    'a full disk (tmpfs): 503 and not ready, said once; a restart while full; recovered',
    async () => {
      const disk = full!;
      const ingest = await startIngestServer({ apiKey: KEY });
      const args = ['--endpoint', ingest.url, '--spool-dir', join(disk.dir, 'spool'), '--spool-max-mb', '64'];
      args.push('--flush-ms', '50', '--trace-wait-ms', '200', '--retry-after-s', '1');
      let sc = await spawnSidecar(args, { FENRA_API_KEY: KEY });
      spawned.push(sc);
      let maxRss = 0;
      const sample = setInterval(() => (maxRss = Math.max(maxRss, rssMb(sc.proc.pid as number))), 100);
      const exporters = new Exporters(() => sc.url);
      let tag = 0x40000;
      exporters.start(3, () => payload(tag++), 150);
      try {
        await sleep(1_500);
        disk.fill();
        await until(async () => (await ready(sc.url)).status === 503, 'readiness to drop');
        expect((await ready(sc.url)).text).toMatch(/cannot be written \(ENOSPC/);
        await sleep(1_500);
        // Our own deliveries free room now and then (the disk flaps between full and not): the
        // episode is logged once, whatever the flapping.
        expect(episodes(sc.logs()).failed).toBe(1);
        // Killed and restarted while the disk is full: it starts (the lock is rewritten in place).
        disk.fill();
        sc.proc.kill('SIGKILL');
        await sc.exited;
        sc = await spawnSidecar(args, { FENRA_API_KEY: KEY });
        spawned.push(sc);
        await sleep(1_000);
        disk.free();
        await until(async () => (await ready(sc.url)).status === 200, 'readiness back', 20_000);
        expect(episodes(sc.logs()).failed).toBeLessThanOrEqual(1);
        await sleep(1_000);
        await exporters.stop();
        await check('sidecar: spool disk full (tmpfs), restart while full', {
          ingest,
          exporters,
          possible: spawned
            .slice(-2)
            .reduce((n, p) => n + Number(/(\d+) sent before/.exec(p.logs())?.[1] ?? 0), 0),
          maxRss,
          note: 'an 8 MiB tmpfs filled to the last byte, then freed',
        });
      } finally {
        clearInterval(sample);
        await ingest.close();
      }
    },
  );

  it.skipIf(ro === undefined)(
    'a read-only disk (tmpfs remounted): 503 and not ready, said once; recovered; a kill -9 after sends nothing twice',
    async () => {
      const disk = ro!;
      const ingest = await startIngestServer({ apiKey: KEY });
      const args = ['--endpoint', ingest.url, '--spool-dir', join(disk.dir, 'spool')];
      args.push('--flush-ms', '50', '--trace-wait-ms', '200', '--retry-after-s', '1');
      let sc = await spawnSidecar(args, { FENRA_API_KEY: KEY });
      spawned.push(sc);
      let maxRss = 0;
      const sample = setInterval(() => (maxRss = Math.max(maxRss, rssMb(sc.proc.pid as number))), 100);
      const exporters = new Exporters(() => sc.url);
      let tag = 0x50000;
      exporters.start(3, () => payload(tag++), 150);
      try {
        await sleep(1_500);
        disk.readOnly();
        await until(async () => (await ready(sc.url)).status === 503, 'readiness to drop');
        expect((await ready(sc.url)).text).toMatch(/cannot be written \(EROFS/);
        await sleep(2_000);
        disk.writable();
        await until(async () => (await ready(sc.url)).status === 200, 'readiness back', 20_000);
        expect(episodes(sc.logs())).toEqual({ failed: 1, recovered: 1 });
        await sleep(1_000);
        sc.proc.kill('SIGKILL');
        await sc.exited;
        sc = await spawnSidecar(args, { FENRA_API_KEY: KEY });
        spawned.push(sc);
        await sleep(1_000);
        await exporters.stop();
        await check('sidecar: spool disk read-only (tmpfs), then kill -9', {
          ingest,
          exporters,
          possible:
            Number(/(\d+) sent before/.exec(sc.logs())?.[1] ?? 0) + (await possibleDuplicates(sc.url)),
          maxRss,
          note: 'remounted read-only for 2 s, then read-write; killed after the recovery',
        });
      } finally {
        clearInterval(sample);
        await ingest.close();
      }
    },
  );

  it.skipIf(full !== undefined && ro !== undefined)(
    'without root: the same on the spool file-system seam (in process, no restart)',
    async () => {
      for (const fault of ['full', 'read-only'] as const) {
        const f = faultyFs();
        const ingest = await startIngestServer({ apiKey: KEY });
        const { config } = resolveServeConfig({
          flags: {
            port: '0',
            'spool-dir': join(root, `seam-${fault}`),
            'flush-ms': '50',
            'trace-wait-ms': '200',
            'retry-after-s': '1',
          },
          env: { FENRA_API_KEY: KEY, FENRA_ENDPOINT: ingest.url },
        });
        const sidecar: RunningSidecar = await startSidecar(config, { spoolFs: f.fs });
        const url = `http://127.0.0.1:${sidecar.address.port}`;
        const rss = rssSampler();
        const exporters = new Exporters(() => url);
        let tag = fault === 'full' ? 0x60000 : 0x70000;
        exporters.start(3, () => payload(tag++), 150);
        try {
          await sleep(1_500);
          f.set(fault, 0);
          await until(async () => (await ready(url)).status === 503, 'readiness to drop');
          await sleep(2_000);
          f.set(undefined);
          await until(async () => (await ready(url)).status === 200, 'readiness back', 20_000);
          await sleep(1_000);
          await exporters.stop();
          await check(`sidecar: spool disk ${fault} (file-system seam, in process)`, {
            ingest,
            exporters,
            possible: sidecar.stats().delivery.possibleDuplicates,
            maxRss: rss.stop(),
            note: 'no root: writes made to fail through the spool file-system seam; RSS of the test process',
          });
        } finally {
          await sidecar.shutdown();
          await ingest.close();
        }
      }
    },
  );
});
