/**
 * Ten times more traffic than the sidecar can deliver, for 30 s. Fenra is the bottleneck here
 * (it answers each batch after 100 ms: two connections of 100 transactions, about 2,000
 * transactions a second): the queue fills and the sidecar must refuse the excess, and the
 * refusals must not cost what accepted requests cost (decided before the body is read), or
 * they starve delivery (the issue: a 90 % fall). The capacity is measured first, at a load just
 * above it; then the delivered throughput under 10x must stay within 20 % of it. The
 * exporters here send each request once (the excess is theirs to drop); what was answered 200
 * must all be delivered.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { IngestServer } from '../helpers/ingest-server.js';
import { startIngestServer } from '../helpers/ingest-server.js';
import type { SpawnedSidecar } from '../sidecar/spawn-sidecar.js';
import { spawnSidecar } from '../sidecar/spawn-sidecar.js';
import { lostOf, report } from './summary.js';
import { deliveredAll, rssMb } from './traffic.js';

const KEY = 'overload-key';
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FENRA_DELAY_MS = 100;
const OVERLOAD_MS = 30_000;
let ingest: IngestServer | undefined;
let sidecar: SpawnedSidecar | undefined;

afterAll(async () => {
  sidecar?.proc.kill('SIGKILL');
  await ingest?.close();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Transactions Fenra took in requests that arrived within [from, to), per second. */
function deliveredRate(server: IngestServer, from: number, to: number): number {
  let n = 0;
  for (const r of server.requests) if (r.atMs >= from && r.atMs < to && r.status === 202) n += r.count;
  return (n * 1000) / (to - from);
}

/** The load process (test/faults/load-child.ts): open-loop requests, each sent once. */
class Load {
  private readonly _proc: ChildProcess;
  private readonly _lines: AsyncIterator<string>;

  constructor(url: string) {
    this._proc = spawn(process.execPath, ['--import', 'tsx', 'test/faults/load-child.ts', url, '4'], {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    this._lines = createInterface({ input: this._proc.stdout! })[Symbol.asyncIterator]();
  }

  /** `perSecond` requests of 128 transactions a second, at most `cap` at once. */
  run(perSecond: number, cap: number): void {
    this._proc.stdin!.write(`${JSON.stringify({ rate: perSecond, cap })}\n`);
  }

  async offered(): Promise<number> {
    this._proc.stdin!.write(`${JSON.stringify({ offered: true })}\n`);
    return (JSON.parse((await this._lines.next()).value as string) as { offered: number }).offered;
  }

  async stop(): Promise<{ acked: Set<string>; refused: number; skipped: number }> {
    this._proc.stdin!.write(`${JSON.stringify({ stop: true })}\n`);
    const r = JSON.parse((await this._lines.next()).value as string) as {
      acked: string[];
      refused: number;
      skipped: number;
    };
    return { acked: new Set(r.acked), refused: r.refused, skipped: r.skipped };
  }

  kill(): void {
    this._proc.kill('SIGKILL');
  }
}

describe('fenra-otel serve at ten times its capacity', () => {
  it('keeps delivering at capacity for 30 s of 10x overload, refusing the excess before reading it', async () => {
    const server = await startIngestServer({ apiKey: KEY });
    ingest = server;
    server.setDefault({ kind: 'slow', delayMs: FENRA_DELAY_MS });
    const sc = await spawnSidecar(
      ['--endpoint', server.url, '--flush-ms', '50', '--trace-wait-ms', '200', '--max-queue', '4000'],
      { FENRA_API_KEY: KEY },
    );
    sidecar = sc;
    let maxRss = 0;
    const sample = setInterval(() => (maxRss = Math.max(maxRss, rssMb(sc.proc.pid as number))), 100);
    const load = new Load(sc.url); // requests of 128 transactions
    try {
      // Capacity: 2 connections x 100 transactions per 100 ms; offered a little above it.
      const nominal = (2 * 100 * 1000) / FENRA_DELAY_MS;
      load.run((1.3 * nominal) / 128, 64);
      await sleep(3_000);
      const a0 = Date.now();
      await sleep(5_000);
      const capacity = deliveredRate(server, a0, Date.now());

      // Ten times that, for 30 s.
      load.run((10 * capacity) / 128, 256);
      const b0 = Date.now();
      const offeredBefore = await load.offered();
      await sleep(OVERLOAD_MS);
      const b1 = Date.now();
      const offeredRate = (((await load.offered()) - offeredBefore) * 1000) / (b1 - b0);
      // The first seconds fill the queue; the rest is the steady state under overload.
      const underLoad = deliveredRate(server, b0 + 5_000, b1);
      const result = await load.stop();
      expect(sc.proc.exitCode).toBeNull();
      expect(underLoad).toBeGreaterThanOrEqual(0.8 * capacity);

      const { duplicates, ...numbers } = await deliveredAll(
        server,
        result.acked,
        'everything acknowledged delivered',
        60_000,
      );
      expect(lostOf(numbers)).toBe(0);
      report({
        scenario: 'sidecar: 10x overload for 30 s',
        ...numbers,
        duplicates,
        possibleDuplicates: 0,
        maxRssMb: maxRss,
        note:
          `capacity ${capacity.toFixed(0)} tx/s (Fenra answering in ${FENRA_DELAY_MS} ms); offered ${offeredRate.toFixed(0)} tx/s; ` +
          `delivered under overload ${underLoad.toFixed(0)} tx/s (${((100 * underLoad) / capacity).toFixed(0)} %); ` +
          `${result.refused} requests refused, ${result.skipped} not sent (the load's own cap)`,
      });
    } finally {
      load.kill();
      clearInterval(sample);
    }
  });
});
