/**
 * One request built to cost as much as possible, against `fenra-otel serve` at its defaults:
 * 20 MB of protobuf holding 10 M empty spans (decoded whole it took ~125 bytes of heap per
 * span and one error string each: the process died), the same as JSON (18 MB of `{}`), 20 MB of
 * JSON empty arrays (parsed, 280 MB of heap), and one attribute whose array holds 2.5 M values. Each is refused (413) before it is decoded. Then
 * 20 MB of 10 M empty scope spans, and of 10 M empty resource spans: within every count limit
 * (no span, no attribute), they are taken (200) at the cost of their walk (the scanner once
 * kept the position of each: 500 MB of heap). Throughout, the process lives, its RSS stays within the documented bound, health is answered meanwhile, and
 * valid traffic alongside is delivered.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { IngestServer } from '../helpers/ingest-server.js';
import { startIngestServer } from '../helpers/ingest-server.js';
import { emptyResources, emptyScopes, emptySpans, hugeArray } from '../helpers/protobuf-bytes.js';
import type { SpawnedSidecar } from '../sidecar/spawn-sidecar.js';
import { spawnSidecar } from '../sidecar/spawn-sidecar.js';
import { Exporters } from './exporters.js';
import { lostOf, report } from './summary.js';
import { deliveredAll, payload, post, rssMb } from './traffic.js';

const KEY = 'hostile-key';
/** The bound the README states for the defaults (see examples/sidecar/README.md). */
const RSS_BOUND_MB = 400;
let ingest: IngestServer | undefined;
let sidecar: SpawnedSidecar | undefined;

afterAll(async () => {
  sidecar?.proc.kill('SIGKILL');
  await ingest?.close();
});

describe('fenra-otel serve against one hostile request', () => {
  it('refuses 20 MB of 10 M empty spans (protobuf, JSON), of JSON empty arrays and a 2.5 M-value attribute before decoding them, takes 10 M empty scopes or resources in bounded memory, and lives', async () => {
    const server = await startIngestServer({ apiKey: KEY });
    ingest = server;
    const sc = await spawnSidecar(['--endpoint', server.url, '--flush-ms', '50', '--trace-wait-ms', '200'], {
      FENRA_API_KEY: KEY,
    });
    sidecar = sc;
    let maxRss = rssMb(sc.proc.pid as number);
    const sample = setInterval(() => (maxRss = Math.max(maxRss, rssMb(sc.proc.pid as number))), 20);
    const exporters = new Exporters(() => sc.url);
    let tag = 0x80000;
    exporters.start(2, () => payload(tag++), 100);
    const health: number[] = [];
    let probing = true;
    const probe = (async () => {
      while (probing) {
        const t = Date.now();
        const r = await fetch(`${sc.url}/healthz`);
        await r.text();
        if (r.status === 200) health.push(Date.now() - t);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    try {
      const proto = emptySpans(10_000_000);
      const json = Buffer.from(
        `{"resourceSpans":[{"scopeSpans":[{"spans":[${Array(6_000_000).fill('{}').join(',')}]}]}]}`,
      );
      const array = hugeArray(2_500_000);
      const arrays = Buffer.from(`{"resourceSpans":[${'[],'.repeat(6_900_000)}[]]}`);
      const timings: string[] = [];
      for (const [name, body, ct] of [
        ['protobuf, 10 M empty spans', proto, 'application/x-protobuf'],
        ['JSON, 6 M empty spans', json, 'application/json'],
        ['protobuf, one attribute of 2.5 M values', array, 'application/x-protobuf'],
        ['JSON, 6.9 M empty arrays', arrays, 'application/json'],
      ] as const) {
        const t = Date.now();
        const r = await post(sc.url, body, { 'content-type': ct });
        timings.push(`${name} (${(body.length / 1e6).toFixed(0)} MB): ${r.status} in ${Date.now() - t} ms`);
        expect(r.status, name).toBe(413);
        expect(r.text).toMatch(/more than/);
      }
      for (const [name, body] of [
        ['protobuf, 10 M empty scope spans', emptyScopes(10_000_000)],
        ['protobuf, 10 M empty resource spans', emptyResources(10_000_000)],
      ] as const) {
        const t = Date.now();
        const r = await post(sc.url, body, { 'content-type': 'application/x-protobuf' });
        timings.push(`${name} (${(body.length / 1e6).toFixed(0)} MB): ${r.status} in ${Date.now() - t} ms`);
        expect(r.status, name).toBe(200);
      }
      await new Promise((r) => setTimeout(r, 500));
      probing = false;
      await probe;
      await exporters.stop();
      expect(sc.proc.exitCode).toBeNull();
      expect(health.length).toBeGreaterThan(0);
      const { duplicates, ...numbers } = await deliveredAll(
        server,
        exporters.acked,
        'the valid traffic delivered',
        30_000,
      );
      expect(lostOf(numbers)).toBe(0);
      expect(duplicates).toBe(0);
      expect(maxRss).toBeLessThan(RSS_BOUND_MB);
      report({
        scenario: 'sidecar: hostile 20 MB requests beside valid traffic',
        ...numbers,
        duplicates,
        possibleDuplicates: 0,
        maxRssMb: maxRss,
        note: `${timings.join('; ')}; slowest health answer meanwhile ${Math.max(...health)} ms; bound ${RSS_BOUND_MB} MiB`,
      });
    } finally {
      probing = false;
      clearInterval(sample);
    }
  });
});
