import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveInProcess } from '../helpers/serve-in-process.js';
import { recordedFixtures } from './otlp-replay.js';
import { until } from './spawn-sidecar.js';

/** /metrics says who spent only when asked (`--metrics-customer-labels`). */

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fenra-metrics-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const chat = JSON.stringify(recordedFixtures().find((f) => f.name === 'openai-chat')!.json);

async function scrapeAfterOneTrace(args: string[], env: Record<string, string> = {}): Promise<string> {
  // No key: local mode, whose sink accepts what it is given.
  const { sidecar, base, stop } = await serveInProcess(['--port', '0', '--flush-ms', '20', ...args], {
    FENRA_DATA_DIR: join(dir, `sink-${args.length}-${Object.keys(env).length}`),
    ...env,
  });
  try {
    const r = await fetch(`${base}/v1/traces`, {
      method: 'POST',
      body: chat,
      headers: { 'content-type': 'application/json' },
    });
    expect(r.status).toBe(200);
    await until(() => sidecar.metrics.value('fenra.otel.transactions.accepted') >= 1, 'the call delivered');
    return await (await fetch(`${base}/metrics`)).text();
  } finally {
    await stop();
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
