import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { toTransactions } from '../../src/stage/to-transactions.js';
import { demoTracesDir, loadDemoTraces, runDemo } from '../../src/local/demo.js';
import { Ledger } from '../../src/local/ledger.js';
import { DEMO_NEEDS_LOCAL_MODE, cliName, prepareServeExtras } from '../../src/local/local-mode.js';
import { parseRecordLines } from '../../src/local/records.js';
import { PriceBook } from '../../src/pricing/price-book.js';
import type { InspectorSummary } from '../../src/local/inspector/summary.js';
import { resolveServeConfig } from '../../src/config/serve.js';
import type { RunningSidecar } from '../../src/sidecar/sidecar.js';
import { startSidecar } from '../../src/sidecar/sidecar.js';
import { startIngestServer } from '../helpers/ingest-server.js';

let dir: string;
let sidecar: RunningSidecar | undefined;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fenra-local-'));
});
afterEach(async () => {
  await sidecar?.shutdown();
  sidecar = undefined;
  rmSync(dir, { recursive: true, force: true });
});

async function until(cond: () => boolean, what: string, limitMs = 15_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** What the demo traces must bill: the pure converter over the same recorded files. */
function expectedFromDemoTraces(): { count: number; perCustomer: Map<string, number>; dropped: number } {
  const traces = loadDemoTraces(demoTracesDir()!);
  const perCustomer = new Map<string, number>();
  let count = 0;
  let dropped = 0;
  for (const t of traces) {
    const r = toTransactions(t.spans, { pricer: new PriceBook() });
    count += r.transactions.length;
    dropped += r.skipped.filter((s) => s.reason !== 'not_genai').length;
    for (const tx of r.transactions) {
      const c = tx.context.billable_customer_id;
      perCustomer.set(c, (perCustomer.get(c) ?? 0) + 1);
    }
  }
  return { count, perCustomer, dropped };
}

describe('local mode (no API key)', () => {
  it('bills the bundled demo traces, sent by the real OTLP exporter, into the local sink and the inspector', async () => {
    const { config, problems } = resolveServeConfig({ flags: { port: '0', 'grpc-port': '0' }, env: {} });
    expect(problems).toEqual([]);
    const stdout = new PassThrough();
    let printed = '';
    stdout.on('data', (c: Buffer) => (printed += c.toString()));
    const extras = await prepareServeExtras({ config, dataDir: dir, demo: true, demoExtra: 0, stdout });
    expect(extras.mode).toBe('local');
    sidecar = await startSidecar(config, extras.deps);
    extras.afterStart(sidecar);
    const base = `http://127.0.0.1:${sidecar.address.port}`;
    expect(printed).toContain(`OTEL_EXPORTER_OTLP_ENDPOINT=${base}`);
    expect(printed).toContain(`inspector:              ${base}/`);
    expect(printed).toContain(join(dir, 'transactions.jsonl'));

    const expected = expectedFromDemoTraces();
    expect(expected.count).toBeGreaterThanOrEqual(10);
    await until(() => /^demo: done/m.test(printed), 'the end of the demo');
    await extras.stop();
    expect(extras.ledger.count).toBe(expected.count);
    // The end line counts every transaction the demo billed (all written by then).
    expect(printed).toContain(
      `demo: done, 12 trace(s) sent; ${expected.count} transaction(s) billed in all.`,
    );
    // Each billed transaction is printed once, e.g. the recorded openai-chat call.
    expect(printed.match(/^billed: /gm)).toHaveLength(expected.count);
    expect(printed).toMatch(
      /^billed: cus_acme_001 {2}openai\/o4-mini-2025-04-16 {2}1250 in \/ 340 out {2}\$0\.\d{6}$/m,
    );

    // The file holds exactly what the pure converter bills for the same recorded traces.
    const onDisk = parseRecordLines(readFileSync(join(dir, 'transactions.jsonl'), 'utf8'));
    expect(onDisk.problems).toEqual([]);
    expect(onDisk.records).toHaveLength(expected.count);
    const perCustomer = new Map<string, number>();
    for (const r of onDisk.records) {
      const c = r.transaction.context.billable_customer_id;
      perCustomer.set(c, (perCustomer.get(c) ?? 0) + 1);
      // The fine-tuned model of the demo is not in the catalog: unpriced, with the reason.
      if (r.transaction.model.startsWith('ft:'))
        expect(r.price).toMatchObject({ source: 'unpriced', reason: 'unknown_model' });
      else expect(r.price?.source).toBe('catalog');
      // Moved to the present: billed now, not at the recording's date.
      expect(Date.now() - Date.parse(r.time!)).toBeLessThan(10 * 60_000);
    }
    expect(perCustomer).toEqual(expected.perCustomer);

    // The inspector's JSON agrees with a ledger rebuilt from the file.
    const summary = (await (await fetch(`${base}/inspector/summary.json`)).json()) as InspectorSummary;
    const rebuilt = new Ledger().addAll(onDisk.records).snapshot();
    expect(summary.mode).toBe('local');
    expect(summary.totals.transactions).toBe(expected.count);
    expect(summary.totals.usd).toBeCloseTo(rebuilt.totals.usd, 12);
    expect(summary.byCustomer).toEqual(rebuilt.by.customer);
    expect(summary.byModel).toEqual(rebuilt.by.model);
    expect(summary.droppedTotal).toBe(expected.dropped);
    expect(summary.dropped['missing_usage']).toBeGreaterThan(0);
    expect(summary.series.reduce((n, b) => n + b.transactions, 0)).toBe(expected.count);

    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toContain('fenra-otel inspector');
    // The receiver's own routes are still there.
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  it('starts with the transactions of earlier runs', async () => {
    const { config } = resolveServeConfig({ flags: { port: '0', 'grpc-port': '0' }, env: {} });
    const quiet = new PassThrough().resume();
    const first = await prepareServeExtras({ config, dataDir: dir, demo: true, demoExtra: 0, stdout: quiet });
    sidecar = await startSidecar(config, first.deps);
    first.afterStart(sidecar);
    const expected = expectedFromDemoTraces().count;
    await until(() => first.ledger.count >= expected, 'the demo transactions');
    await first.stop();
    await sidecar.shutdown();

    let printed = '';
    const out = new PassThrough();
    out.on('data', (c: Buffer) => (printed += c.toString()));
    const second = await prepareServeExtras({ config, dataDir: dir, stdout: out });
    sidecar = await startSidecar(config, second.deps);
    second.afterStart(sidecar);
    expect(second.ledger.count).toBe(expected);
    expect(printed).toContain(`(${expected} transaction(s) from earlier runs)`);
  });

  it('serves the inspector on all interfaces only in local mode', async () => {
    const quiet = (): PassThrough => new PassThrough().resume();
    const local = resolveServeConfig({
      flags: { port: '0', 'grpc-port': '0', host: '0.0.0.0' },
      env: {},
    }).config;
    const extras = await prepareServeExtras({ config: local, dataDir: dir, stdout: quiet() });
    sidecar = await startSidecar(local, extras.deps);
    extras.afterStart(sidecar);
    expect((await fetch(`http://127.0.0.1:${sidecar.address.port}/`)).status).toBe(200);
    await sidecar.shutdown();

    const fenra = resolveServeConfig({
      flags: { port: '0', 'grpc-port': '0', host: '0.0.0.0' },
      env: { FENRA_API_KEY: 'k', FENRA_ENDPOINT: 'http://127.0.0.1:9/usage/transactions' },
    }).config;
    const other = await prepareServeExtras({ config: fenra, dataDir: dir, stdout: quiet() });
    // Nothing reads the ledger then: accepted transactions are not recorded in it at all.
    expect(other.deps.onSettled).toBeUndefined();
    sidecar = await startSidecar(fenra, other.deps);
    other.afterStart(sidecar);
    expect((await fetch(`http://127.0.0.1:${sidecar.address.port}/`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${sidecar.address.port}/healthz`)).status).toBe(200);
  });

  it('with an API key, --demo is not run (made-up transactions never go to Fenra) and says so', async () => {
    const ingest = await startIngestServer({ apiKey: 'k-demo' });
    try {
      const { config } = resolveServeConfig({
        flags: { port: '0', 'grpc-port': '0' },
        env: { FENRA_API_KEY: 'k-demo', FENRA_ENDPOINT: ingest.url },
      });
      let printed = '';
      const stdout = new PassThrough();
      stdout.on('data', (c: Buffer) => (printed += c.toString()));
      const extras = await prepareServeExtras({ config, dataDir: dir, demo: true, demoExtra: 0, stdout });
      sidecar = await startSidecar(config, extras.deps);
      extras.afterStart(sidecar);
      expect(printed).toContain(DEMO_NEEDS_LOCAL_MODE);
      expect(printed).not.toContain('demo: replaying');
      await extras.stop();
      await sidecar.shutdown();
      expect(ingest.requests).toHaveLength(0);
      // `report` reads the local sink, which Fenra mode does not write: no hint to run it.
      expect(printed).not.toContain('report --by');
    } finally {
      await sidecar?.shutdown();
      await ingest.close();
    }
  });

  it('with an API key, sends to Fenra and the inspector shows what Fenra accepted', async () => {
    const ingest = await startIngestServer({ apiKey: 'k-demo' });
    try {
      const { config } = resolveServeConfig({
        flags: { port: '0', 'grpc-port': '0', 'flush-ms': '50' },
        env: { FENRA_API_KEY: 'k-demo', FENRA_ENDPOINT: ingest.url },
      });
      const extras = await prepareServeExtras({ config, dataDir: dir, stdout: new PassThrough().resume() });
      expect(extras.mode).toBe('fenra');
      expect(extras.deps.onSettled).toBeDefined();
      sidecar = await startSidecar(config, extras.deps);
      extras.afterStart(sidecar);
      // An instrumented app sends the recorded traces (what the demo would replay).
      const traces = loadDemoTraces(demoTracesDir()!);
      await runDemo({ url: `http://127.0.0.1:${sidecar.address.port}/v1/traces`, traces });
      const expected = expectedFromDemoTraces();
      await until(() => extras.ledger.count >= expected.count, 'the accepted transactions');
      expect(ingest.accepted).toHaveLength(expected.count);
      const summary = (await (
        await fetch(`http://127.0.0.1:${sidecar.address.port}/inspector/summary.json`)
      ).json()) as InspectorSummary;
      expect(summary.mode).toBe('fenra');
      expect(summary.destination).toBe(ingest.url);
      expect(summary.totals.transactions).toBe(expected.count);
      // Nothing was written locally.
      expect(existsSync(join(dir, 'transactions.jsonl'))).toBe(false);
    } finally {
      await sidecar?.shutdown();
      await ingest.close();
    }
  });

  it('tells how to run report: the bin file inside this checkout, npx fenra-otel elsewhere', () => {
    expect(cliName({ npm_package_name: '@fenra/otel', npm_lifecycle_event: 'start' }, undefined, '/x')).toBe(
      'node bin/fenra-otel.js',
    );
    expect(cliName({}, 'bin/fenra-otel.js', '/repo')).toBe('node bin/fenra-otel.js');
    expect(cliName({}, '/repo/bin/fenra-otel.js', '/repo')).toBe('node bin/fenra-otel.js');
    // A project whose own `npm start` runs fenra-otel: not this checkout.
    expect(
      cliName(
        { npm_package_name: 'my-app', npm_lifecycle_event: 'start' },
        '/proj/node_modules/.bin/fenra-otel',
        '/proj',
      ),
    ).toBe('npx fenra-otel');
    expect(cliName({}, '/proj/node_modules/@fenra/otel/bin/fenra-otel.js', '/proj')).toBe('npx fenra-otel');
  });

  it('is not local mode when an API key is set', async () => {
    const { config } = resolveServeConfig({
      flags: { port: '0', 'grpc-port': '0' },
      env: { FENRA_API_KEY: 'k-test' },
    });
    const extras = await prepareServeExtras({ config, dataDir: dir, stdout: new PassThrough().resume() });
    expect(extras.mode).toBe('fenra');
    expect(extras.deps.sender).toBeUndefined();
    expect(extras.deps.onSettled).toBeDefined();
    expect(extras.sink).toBeUndefined();
  });
});
