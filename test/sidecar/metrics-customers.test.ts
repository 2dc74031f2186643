import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runServe } from '../../src/cli/serve.js';
import type { RunningSidecar } from '../../src/sidecar/sidecar.js';
import { recordedFixtures } from './otlp-replay.js';
import { until } from './spawn-sidecar.js';

/** /metrics says who spent only when asked (`--metrics-customer-labels`). */
class Sink extends Writable {
  override _write(_chunk: Buffer, _enc: string, cb: () => void): void {
    cb();
  }
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fenra-metrics-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const chat = JSON.stringify(recordedFixtures().find((f) => f.name === 'openai-chat')!.json);

async function scrapeAfterOneTrace(args: string[], env: Record<string, string> = {}): Promise<string> {
  const ctl = new AbortController();
  let ready!: (s: RunningSidecar) => void;
  const started = new Promise<RunningSidecar>((r) => (ready = r));
  const done = runServe(['--port', '0', '--flush-ms', '20', ...args], {
    stdout: new Sink(),
    stderr: new Sink(),
    // No key: local mode, whose sink accepts what it is given.
    env: { FENRA_DATA_DIR: join(dir, `sink-${args.length}-${Object.keys(env).length}`), ...env },
    stop: ctl.signal,
    handleSignals: false,
    onReady: ready,
  });
  const sidecar = await started;
  try {
    const base = `http://127.0.0.1:${sidecar.address.port}`;
    const r = await fetch(`${base}/v1/traces`, {
      method: 'POST',
      body: chat,
      headers: { 'content-type': 'application/json' },
    });
    expect(r.status).toBe(200);
    await until(() => sidecar.metrics.value('fenra.otel.transactions.accepted') >= 1, 'the call delivered');
    return await (await fetch(`${base}/metrics`)).text();
  } finally {
    ctl.abort();
    await done;
  }
}

describe('/metrics and customers', () => {
  it('by default: spend by provider and model, no customer', async () => {
    const text = await scrapeAfterOneTrace([]);
    expect(text).toMatch(/^fenra_otel_cost_estimated_usd_total\{provider="openai",model="[^"]+"\} /m);
    expect(text).not.toMatch(/customer="/);
    expect(text).toMatch(/^fenra_otel_cost_estimated_by_customer_usd_total 0$/m);
  });

  it('with --metrics-customer-labels (or FENRA_METRICS_CUSTOMER_LABELS=true): spend by customer too', async () => {
    for (const [args, env] of [
      [['--metrics-customer-labels'], {}],
      [[], { FENRA_METRICS_CUSTOMER_LABELS: 'true' }],
    ] as const) {
      const text = await scrapeAfterOneTrace([...args], { ...env });
      expect(text).toMatch(
        /^fenra_otel_cost_estimated_by_customer_usd_total\{customer="[^"]+"\} [0-9.e-]+$/m,
      );
    }
  });
});
