import { request } from 'node:http';
import type { Server } from 'node:http';
import { createServer } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { Ledger } from '../../src/local/ledger.js';
import { createInspector } from '../../src/local/inspector/index.js';
import { Metrics } from '../../src/sidecar/metrics.js';
import { droppedFromMetrics, spendSeries } from '../../src/local/inspector/summary.js';
import { makePriced } from '../helpers/priced.js';
import { renderTransaction } from '../../src/fenra/render-transaction.js';

describe('spendSeries', () => {
  it('buckets spend by a round step, keeping empty buckets, and loses nothing', () => {
    const t0 = Date.UTC(2026, 0, 1, 12, 0, 0);
    const points: [number, number][] = [
      [t0, 1],
      [t0 + 500, 2],
      [t0 + 61_000, 4],
      [t0 + 5 * 60_000, 8],
    ];
    const s = spendSeries(points, 40);
    expect(s[1]!.start - s[0]!.start).toBe(10_000);
    expect(s[0]).toMatchObject({ start: t0, usd: 3, transactions: 2 });
    expect(s.reduce((a, b) => a + b.usd, 0)).toBe(15);
    expect(s.reduce((a, b) => a + b.transactions, 0)).toBe(4);
    expect(s.length).toBeLessThanOrEqual(40);
    expect(s.filter((b) => b.transactions === 0).length).toBeGreaterThan(0);
    expect(s.at(-1)!.usd).toBe(8);
  });

  it('covers at least the minimum span up to now, when asked', () => {
    const now = Date.UTC(2026, 0, 1, 12, 0, 0);
    const s = spendSeries([[now - 1000, 1]], 40, now, 5 * 60_000);
    expect(s.at(-1)!.end).toBeGreaterThan(now);
    expect(s.at(-1)!.end - s[0]!.start).toBeGreaterThanOrEqual(5 * 60_000);
    expect(spendSeries([])).toEqual([]);
  });

  it('spans the data: spend in the first and the last bar, not squeezed into a corner', () => {
    const t0 = Date.UTC(2026, 0, 1, 12, 0, 0);
    const points: [number, number][] = Array.from({ length: 20 }, (_, i) => [t0 + i * 3_000, 0.001]);
    const s = spendSeries(points, 40);
    expect(s[0]!.transactions).toBeGreaterThan(0);
    expect(s.at(-1)!.transactions).toBeGreaterThan(0);
    expect(s.at(-1)!.end - s[0]!.start).toBeLessThan(2 * 60_000);
  });

  it('rounds each bar for display: no float noise', () => {
    const t0 = Date.UTC(2026, 0, 1, 12, 0, 0);
    const s = spendSeries(
      [
        [t0, 0.0001],
        [t0 + 1, 0.0002],
      ],
      40,
    );
    expect(0.0001 + 0.0002).not.toBe(0.0003);
    expect(s[0]!.usd).toBe(0.0003);
  });
});

describe('droppedFromMetrics', () => {
  it('reads skip and refusal reasons from the sidecar counters', () => {
    const m = new Metrics();
    m.add('fenra.otel.transactions.accepted', 5);
    m.add('fenra.otel.spans.skipped', 2, { reason: 'missing_usage' });
    m.add('fenra.otel.spans.skipped', 1, { reason: 'missing_usage' });
    m.add('fenra.otel.transactions.failed', 1, { reason: 'rejected' });
    m.add('fenra.otel.transactions.dropped', 0, { reason: 'shutdown' });
    expect(droppedFromMetrics(m.render())).toEqual({ missing_usage: 3, refused_rejected: 1 });
  });
});

describe('createInspector', () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

  async function serve(): Promise<string> {
    const ledger = new Ledger();
    const t = makePriced({ customer: 'acme</script><b>', usd: 0.5 });
    ledger.add({ transaction: renderTransaction(t), price: t.price });
    const handle = createInspector({
      ledger,
      mode: 'local',
      destination: '/data/transactions.jsonl',
      otlpEndpoint: 'http://127.0.0.1:4318',
      dropped: () => ({ missing_usage: 2, aggregate: 5 }),
    });
    server = createServer((req, res) => {
      if (!handle(req, res)) {
        res.writeHead(404);
        res.end('not mine');
      }
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const a = server.address();
    return `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
  }

  it('serves the summary JSON and the page, and leaves other paths alone', async () => {
    const base = await serve();
    const s = (await (await fetch(`${base}/inspector/summary.json`)).json()) as Record<string, unknown>;
    expect(s['totals']).toMatchObject({ transactions: 1, usd: 0.5 });
    expect(s['dropped']).toEqual({ missing_usage: 2, aggregate: 5 });
    // The card counts what its table lists, aggregates too, and says how many were billed elsewhere.
    expect(s['droppedTotal']).toBe(7);
    expect(s['droppedElsewhere']).toBe(5);
    const page = await fetch(`${base}/?x=1`);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await page.text();
    // The customer id is data, never markup.
    expect(html).not.toContain('acme</script>');
    expect(html).toContain('acme\\u003c/script\\u003e');
    expect((await fetch(`${base}/v1/traces`)).status).toBe(404);
  });

  it('answers 405 to writes', async () => {
    const base = await serve();
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${base}/`, { method: 'POST' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end('x');
    });
    expect(status).toBe(405);
  });
});
