/**
 * What the sidecar says, in JSON log lines on stderr: once that billing works, once that calls
 * have no customer (with the fix in its own terms: flags and variables, never a code option),
 * a delivery problem with its cause and the count at risk, and at shutdown what was lost and why.
 * A spawned `fenra-otel serve`, the fake Fenra on loopback.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { IngestServer } from '../helpers/ingest-server.js';
import { startIngestServer } from '../helpers/ingest-server.js';
import { spawnSidecar, until } from './spawn-sidecar.js';

const NO_CUSTOMER = readFileSync(
  new URL('../../examples/demo-traces/openai-embeddings-no-customer.otlp.json', import.meta.url),
  'utf8',
);

let ingest: IngestServer;
beforeEach(async () => {
  ingest = await startIngestServer({ apiKey: 'test-key' });
});
afterEach(() => ingest.close());

interface LogLine {
  level: string;
  msg: string;
}
const lines = (text: string): LogLine[] =>
  text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);

async function post(url: string, body: string): Promise<number> {
  const r = await fetch(`${url}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  await r.arrayBuffer();
  return r.status;
}

describe('fenra-otel serve: what it says', () => {
  it('once that billing works, and once that calls have no customer, with the sidecar fix', async () => {
    const s = await spawnSidecar(['--flush-ms', '50'], {
      FENRA_API_KEY: 'test-key',
      FENRA_ENDPOINT: ingest.url,
    });
    try {
      expect(await post(s.url, NO_CUSTOMER)).toBe(200);
      // A second trace (another trace id): still one line of each.
      expect(await post(s.url, NO_CUSTOMER.replaceAll('d579f25c97a6539c', '0000000000000001'))).toBe(200);
      await until(() => ingest.accepted.length >= 2, 'the transactions');
      await until(() => s.logs().includes('Billing works'), 'the info line');
    } finally {
      s.proc.kill('SIGTERM');
      await s.exited;
    }
    const log = lines(s.logs());
    const works = log.filter((l) => l.msg.includes('Billing works'));
    expect(works).toHaveLength(1);
    expect(works[0]).toMatchObject({
      level: 'info',
      msg: expect.stringMatching(
        /^Billing works: Fenra \(http:\/\/127\.0\.0\.1:\d+\/usage\/transactions\) accepted the first [12] transaction\(s\)\. Nothing more is logged while it keeps working\.$/,
      ),
    });
    const unattributed = log.filter((l) => l.msg.includes('unattributed'));
    expect(unattributed).toHaveLength(1);
    expect(unattributed[0]!.level).toBe('warn');
    expect(unattributed[0]!.msg).toContain('--customer-id-key or FENRA_CUSTOMER_ID_KEYS');
    expect(unattributed[0]!.msg).toContain('--customer-id or FENRA_BILLABLE_CUSTOMER_ID');
    // Nothing a sidecar user cannot act on.
    expect(s.logs()).not.toMatch(/option\b|stats\(\)|withFenraContext|exportTimeoutMillis/);
    expect(log.find((l) => l.msg.startsWith('stopped:'))!.msg).toBe(
      'stopped: 2 transaction(s) accepted, 0 rejected',
    );
  });

  it('Fenra unreachable: the problem once with its cause and the count at risk; at shutdown, what was lost and why', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const { port } = probe.address() as { port: number };
    await new Promise((r) => probe.close(r));
    const endpoint = `http://127.0.0.1:${port}/usage/transactions`;
    const s = await spawnSidecar(['--flush-ms', '50', '--shutdown-timeout-ms', '1500'], {
      FENRA_API_KEY: 'test-key',
      FENRA_ENDPOINT: endpoint,
    });
    try {
      expect(await post(s.url, NO_CUSTOMER)).toBe(200);
      await until(() => s.logs().includes('Cannot deliver'), 'the delivery problem');
    } finally {
      s.proc.kill('SIGTERM');
      await s.exited;
    }
    const why = `connection refused by 127.0.0.1:${port}: nothing listens there (ECONNREFUSED)`;
    const log = lines(s.logs());
    const failing = log.filter((l) => l.msg.startsWith('Cannot deliver'));
    expect(failing).toEqual([
      {
        ...failing[0],
        level: 'warn',
        msg: `Cannot deliver to Fenra (${endpoint}): ${why}. 1 transaction(s) at risk, kept in memory (up to 20000) and retried; they are lost if the process ends before delivery succeeds.`,
      },
    ]);
    const stopped = log.find((l) => l.msg.startsWith('stopped:'))!;
    expect(stopped.level).toBe('warn');
    expect(stopped.msg).toMatch(
      new RegExp(
        `^stopped: 0 transaction\\(s\\) accepted, 0 rejected, 1 not delivered \\((shutdown|retries_exhausted) 1\\), last problem: ${why.replace(/[().]/g, '\\$&')}$`,
      ),
    );
  });
});
