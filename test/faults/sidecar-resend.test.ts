/**
 * An OTLP exporter sends a request again when its first attempt timed out or its answer was
 * lost, although the sidecar took it. The sidecar must bill those spans once: right after the
 * first copy (trace still held or just resolved) and seconds later.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { IngestServer } from '../helpers/ingest-server.js';
import { startIngestServer } from '../helpers/ingest-server.js';
import type { SpawnedSidecar } from '../sidecar/spawn-sidecar.js';
import { spawnSidecar, until } from '../sidecar/spawn-sidecar.js';
import { report } from './summary.js';
import { payload, post, recordedKeys, rssMb } from './traffic.js';

const KEY = 'resend-key';
let ingest: IngestServer | undefined;
let sidecar: SpawnedSidecar | undefined;

afterAll(async () => {
  sidecar?.proc.kill('SIGKILL');
  await ingest?.close();
});

describe('fenra-otel serve receiving the same request again', () => {
  it('bills every span once however often and however late an exporter re-sends it', async () => {
    const server = await startIngestServer({ apiKey: KEY });
    ingest = server;
    const sc = await spawnSidecar(['--endpoint', server.url, '--flush-ms', '50', '--trace-wait-ms', '200'], {
      FENRA_API_KEY: KEY,
    });
    sidecar = sc;
    const sent = new Set<string>();
    let requests = 0;
    for (let tag = 1; tag <= 10; tag++) {
      const p = payload(tag);
      for (const k of p.keys) sent.add(k);
      // the original, an immediate retry, and two late ones (after the trace was billed)
      const copies = await Promise.all([post(sc.url, p.proto), post(sc.url, p.proto)]);
      requests += 2;
      expect(copies.map((c) => c.status)).toEqual([200, 200]);
      if (tag % 3 === 0) {
        await until(() => p.keys.every((k) => recordedKeys(server).distinct.has(k)), 'first copy billed');
        expect((await post(sc.url, p.proto)).status).toBe(200);
        expect((await post(sc.url, p.json, { 'content-type': 'application/json' })).status).toBe(200);
        requests += 2;
      }
    }
    await until(() => [...sent].every((k) => recordedKeys(server).distinct.has(k)), 'every span billed');
    // Give late copies the time to be billed, if they were going to be.
    await new Promise((r) => setTimeout(r, 800));
    const { distinct, duplicates } = recordedKeys(server);
    expect(distinct.size).toBe(sent.size);
    expect(duplicates).toBe(0);
    report({
      scenario: 'sidecar: exporter re-sends taken requests',
      acknowledged: sent.size,
      delivered: distinct.size,
      duplicates,
      possibleDuplicates: 0,
      counted: 0,
      maxRssMb: rssMb(sc.proc.pid as number),
      note: `${requests} requests for 10 distinct ones`,
    });
  });
});
