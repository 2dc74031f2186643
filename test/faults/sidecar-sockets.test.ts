/**
 * 600 idle or slow connections against `fenra-otel serve` at its defaults (512 connections):
 * 300 that never send a byte, 300 that trickle a header line now and then. They used to take
 * every place, so exporters and the liveness probe were refused for 10-30 s at a time. Now a new
 * connection takes the place of the one idle longest: health is answered, exporters are served
 * and what they send is delivered.
 */
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import type { IngestServer } from '../helpers/ingest-server.js';
import { startIngestServer } from '../helpers/ingest-server.js';
import type { SpawnedSidecar } from '../sidecar/spawn-sidecar.js';
import { spawnSidecar } from '../sidecar/spawn-sidecar.js';
import { Exporters } from './exporters.js';
import { lostOf, report } from './summary.js';
import { deliveredAll, metric, payload, rssMb } from './traffic.js';

const KEY = 'sockets-key';
let ingest: IngestServer | undefined;
let sidecar: SpawnedSidecar | undefined;
const sockets: Socket[] = [];

afterAll(async () => {
  for (const s of sockets) s.destroy();
  sidecar?.proc.kill('SIGKILL');
  await ingest?.close();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('fenra-otel serve under 600 idle and slow connections', () => {
  it('answers health and serves exporters while 600 idle or slow sockets are open', async () => {
    const server = await startIngestServer({ apiKey: KEY });
    ingest = server;
    const sc = await spawnSidecar(['--endpoint', server.url, '--flush-ms', '50', '--trace-wait-ms', '200'], {
      FENRA_API_KEY: KEY,
    });
    sidecar = sc;
    const { port } = new URL(sc.url);
    let closedByServer = 0;
    const trickles: ReturnType<typeof setInterval>[] = [];
    // The flood keeps coming back: a socket closed to make room is opened again.
    let flooding = true;
    const open = (slow: boolean): void => {
      const s = connect(Number(port), '127.0.0.1');
      s.on('error', () => undefined);
      s.on('close', () => {
        closedByServer++;
        if (flooding) open(slow);
      });
      if (slow) {
        s.write('POST /v1/traces HTTP/1.1\r\nHost: x\r\n');
        const t = setInterval(() => s.writable && s.write('X-Pad: y\r\n'), 2_000);
        trickles.push(t);
      }
      sockets.push(s);
    };
    for (let i = 0; i < 600; i++) open(i % 2 === 1);
    await sleep(1_000);

    const health: number[] = [];
    const exporters = new Exporters(() => sc.url);
    let tag = 0x90000;
    exporters.start(2, () => payload(tag++), 200);
    for (let i = 0; i < 20; i++) {
      const t = Date.now();
      const r = await fetch(`${sc.url}/healthz`);
      await r.text();
      expect(r.status).toBe(200);
      health.push(Date.now() - t);
      await sleep(100);
    }
    await exporters.stop();
    flooding = false;
    for (const t of trickles) clearInterval(t);
    const evicted = await metric(sc.url, 'fenra_otel_receiver_connections_closed_total\\{why="evicted"\\}');
    for (const s of sockets) s.destroy();
    const { duplicates, ...numbers } = await deliveredAll(
      server,
      exporters.acked,
      'what the exporters sent delivered',
      30_000,
    );
    expect(numbers.acknowledged).toBeGreaterThan(0);
    expect(lostOf(numbers)).toBe(0);
    expect(duplicates).toBe(0);
    expect(evicted).toBeGreaterThan(0);
    report({
      scenario: 'sidecar: 600 idle and slow sockets (limit 512)',
      ...numbers,
      duplicates,
      possibleDuplicates: 0,
      maxRssMb: rssMb(sc.proc.pid as number),
      note:
        `health answered 20/20, slowest ${Math.max(...health)} ms; ${evicted} idle connections closed to make room ` +
        `(${closedByServer} closed in all, reopened while the flood lasted); exporter refusals: ${exporters.refusalText() || 'none'}`,
    });
  });
});
