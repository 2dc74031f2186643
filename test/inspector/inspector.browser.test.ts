import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { Browser } from 'playwright-core';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoTracesDir, loadDemoTraces, runDemo } from '../../src/local/demo.js';
import { Ledger, NONE } from '../../src/local/ledger.js';
import type { ServeExtras } from '../../src/local/local-mode.js';
import { prepareServeExtras } from '../../src/local/local-mode.js';
import { parseRecordLines } from '../../src/local/records.js';
import { resolveServeConfig } from '../../src/config/serve.js';
import type { RunningSidecar } from '../../src/sidecar/sidecar.js';
import { startSidecar } from '../../src/sidecar/sidecar.js';

/**
 * The inspector page in a real headless Chromium (Debian's `chromium` package, driven by
 * playwright-core; no browser is ever downloaded). CI installs it with
 * `apt-get update && apt-get install -y chromium`.
 */
const CHROMIUM = process.env['FENRA_TEST_CHROMIUM'] ?? '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
if (!HAVE_CHROMIUM) {
  console.warn(
    `\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n` +
      `!! SKIPPING the inspector browser test: no Chromium at ${CHROMIUM}.\n` +
      `!! Install it with: apt-get update && apt-get install -y chromium\n` +
      `!! (or set FENRA_TEST_CHROMIUM to a Chromium binary).\n` +
      `!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n`,
  );
}

const SCREENSHOT_DIR = new URL('../../tmp/screenshots/', import.meta.url);

let dir: string;
let sidecar: RunningSidecar;
let extras: ServeExtras;
let browser: Browser | undefined;
let base: string;

async function until(cond: () => boolean | Promise<boolean>, what: string, limitMs = 15_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const usd = (v: number): string => `$${v.toFixed(6)}`;

/**
 * What one pass of the bundled demo bills, pinned by hand (list prices of the
 * `@pydantic/genai-prices` 0.1.8 catalog, USD per million tokens) rather than computed by our
 * own aggregation:
 *
 * | customer | calls | model: tokens → USD |
 * |---|---|---|
 * | cus_bakery_12 | 3 | claude-haiku-4-5 (in 1, out 5, cache read 0.1, write 1.25 / 1h 2): 0.00104 + 0.000455 + 0.004902 |
 * | cus_wayne_3 | 1 | o3-mini (1.1 / 4.4): 1500 in, 600 out → 0.00429 |
 * | cus_acme_001 | 2 | o4-mini (1.1 / 4.4): 1250 in, 340 out → 0.002871; a fine-tuned model not in the catalog: unpriced |
 * | cus_ai6_google | 1 | gemini-2.5-flash (0.3 / 2.5, cached 0.03): 288 + 512 cached in, 550 out → 0.00147676 |
 * | cus_initech_7 | 1 | gpt-5-mini (0.25 / 2): 900 in, 450 out → 0.001125 |
 * | unattributed | 1 | text-embedding-3-small (0.02): 48213 in → 0.00096426 |
 * | cus_insure_77 | 1 | Bedrock claude-3-5-haiku (0.8 / 4): 210 in, 35 out → 0.000308 |
 * | cus_ai6_openai | 2 | gpt-4.1-mini (0.4 / 1.6, cached 0.1): 320 in, 18 out → 0.0001568; 124 + 256 cached in, 14 out → 0.0000976 |
 * | cus_umbrella_9 | 1 | gpt-4o-mini (0.15 / 0.6): 22 in, 5 out → 0.0000063 |
 *
 * Not billed: 2 × missing_usage (a stream without usage, an OpenLLMetry span without counts),
 * 2 × failed_no_usage (a failed call and its retry); the AI SDK's outer spans are aggregates.
 */
const DEMO = {
  transactions: 13,
  usd: '$0.017693',
  unpriced: '1',
  unattributed: '1',
  notBilled: '4',
  customers: [
    ['cus_bakery_12', '3', '$0.006397'],
    ['cus_wayne_3', '1', '$0.004290'],
    ['cus_acme_001', '2', '$0.002871'],
    ['cus_ai6_google', '1', '$0.001477'],
    ['cus_initech_7', '1', '$0.001125'],
    ['unattributed', '1', '$0.000964'],
    ['cus_insure_77', '1', '$0.000308'],
    ['cus_ai6_openai', '2', '$0.000254'],
    ['cus_umbrella_9', '1', '$0.000006'],
  ],
};

describe.skipIf(!HAVE_CHROMIUM)('inspector page in headless Chromium', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fenra-inspector-'));
    const { config } = resolveServeConfig({ flags: { port: '0', 'grpc-port': '0' }, env: {} });
    extras = await prepareServeExtras({
      config,
      dataDir: dir,
      demo: true,
      demoExtra: 0,
      stdout: new PassThrough().resume(),
    });
    sidecar = await startSidecar(config, extras.deps);
    extras.afterStart(sidecar);
    base = `http://127.0.0.1:${sidecar.address.port}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await extras?.stop();
    await sidecar?.shutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows the demo transactions and the right totals, and updates live', async () => {
    // Wait until the demo's first pass has been billed and written.
    const traces = loadDemoTraces(demoTracesDir()!);
    await until(() => extras.sink!.ledger.count >= DEMO.transactions, 'the demo transactions');
    await extras.stop();
    const records = parseRecordLines(readFileSync(extras.sink!.file, 'utf8')).records;
    expect(records).toHaveLength(DEMO.transactions);
    const truth = new Ledger().addAll(records).snapshot();

    const page = await browser!.newPage({ viewport: { width: 1280, height: 1400 } });
    const external: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(base)) external.push(r.url());
    });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const res = await page.goto(`${base}/`);
    expect(res?.status()).toBe(200);
    await expect.poll(() => page.textContent('#c-transactions')).toBe(String(DEMO.transactions));

    // The numbers pinned by hand, then the page against a ledger rebuilt from the file.
    expect(await page.textContent('#c-usd')).toBe(DEMO.usd);
    expect(await page.textContent('#c-unpriced')).toBe(DEMO.unpriced);
    expect(await page.textContent('#c-unattributed')).toBe(DEMO.unattributed);
    await expect.poll(() => page.textContent('#c-dropped')).not.toBe('0');
    expect(await page.textContent('#unpriced')).toContain('unknown_model');
    expect(await page.textContent('#c-usd')).toBe(usd(truth.totals.usd));
    expect(await page.textContent('#mode')).toBe('local mode');
    expect(await page.textContent('#endpoint')).toBe(base);

    // Per customer: one row each, with its count and USD.
    const customerRows = await page.$$eval('#by-customer tbody tr', (trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')),
    );
    expect(customerRows.map((r) => [r[0], r[1], r[4]])).toEqual(DEMO.customers);
    expect(customerRows.map((r) => [r[0], r[1], r[4]])).toEqual(
      truth.by.customer.map((c) => [c.key, String(c.totals.transactions), usd(c.totals.usd)]),
    );
    const modelRows = await page.$$eval('#by-model tbody tr', (trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')),
    );
    // A model with no price shows no USD (never $0 for "unknown").
    expect(modelRows.map((r) => [r[0], r[4]])).toEqual(
      truth.by.model.map((c) => [
        c.key,
        c.totals.unpriced === c.totals.transactions ? '—' : usd(c.totals.usd),
      ]),
    );
    expect(modelRows.find((r) => r[0]!.startsWith('ft:'))?.[4]).toBe('—');
    expect(truth.by.feature.map((f) => f.key)).toContain(NONE);
    // At 1280 px the tables fit their boxes: est. USD is not cut off (long model ids wrap).
    for (const id of ['#by-model', '#by-customer', '#rows']) {
      const fits = await page.$eval(id, (el) => {
        const box = el.closest('.scroll')!;
        return box.scrollWidth <= box.clientWidth;
      });
      expect(fits, id).toBe(true);
    }

    // Every transaction is in the live table; the not-billed reasons show.
    expect(await page.$$eval('#rows tr', (trs) => trs.length)).toBe(records.length);
    expect(await page.textContent('#dropped')).toContain('missing_usage');
    expect(await page.textContent('#dropped')).toContain('failed_no_usage');

    // The not-billed card counts what its table lists (aggregates too), and says how many of
    // them were billed once from another span.
    const droppedRows = await page.$$eval('#dropped tr', (trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')),
    );
    const byReason = new Map(droppedRows.map((r) => [r[0]!, Number(r[1]!.replace(/,/g, ''))]));
    const tableSum = [...byReason.values()].reduce((a, b) => a + b, 0);
    expect(await page.textContent('#c-dropped')).toBe(String(tableSum));
    expect(byReason.get('aggregate')).toBeGreaterThan(0);
    expect(await page.textContent('#c-dropped-note')).toBe(
      `${(byReason.get('aggregate') ?? 0) + (byReason.get('duplicate') ?? 0)} billed once from another span`,
    );

    // Cache and reasoning tokens beside each price, so that prices read consistently: the two
    // Claude Haiku calls of ~2,400 input tokens cost $0.004902 (cache WRITES) and $0.000455
    // (cache READS); Gemini's output holds its reasoning.
    const rows = await page.$$eval('#rows tr', (trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')),
    );
    const row = (price: string): string[] => rows.find((r) => r[9] === price)!;
    // [in, cache read, cache write, out, reasoning, USD]
    expect(row('$0.004902').slice(4, 10)).toEqual(['2,412', '0', '2,400', '18', '0', '$0.004902']);
    expect(row('$0.000455').slice(4, 10)).toEqual(['2,505', '2,450', '0', '31', '0', '$0.000455']);
    expect(row('$0.001040').slice(4, 10)).toEqual(['2,490', '2,000', '450', '25', '0', '$0.001040']);
    expect(row('$0.001477').slice(3, 10)).toEqual([
      'gemini-2.5-flash',
      '800',
      '512',
      '0',
      '550',
      '400',
      '$0.001477',
    ]);

    // USD without float noise, on the page and in its JSON (0.0010400000000000001 is 0.00104).
    const json = await (await fetch(`${base}/inspector/summary.json`)).text();
    expect(json).not.toMatch(/\.\d*(0{6,}[1-9]|9{6,})/);
    expect(json).toContain('"usd":0.00104,');
    expect(await page.innerText('main')).not.toMatch(/\$\d+\.\d{7,}/);

    // The chart spans the data: spend in its first bar and in its last, none squeezed aside.
    const heights = await page.$$eval('#chart rect.bar', (rs) =>
      rs.map((r) => Number(r.getAttribute('height'))),
    );
    expect(heights.length).toBeGreaterThan(0);
    expect(heights[0]).toBeGreaterThan(0);
    expect(heights.at(-1)).toBeGreaterThan(0);

    // Live: one more trace arrives and the page picks it up by polling, without a reload.
    const before = extras.sink!.ledger.count;
    const openaiChat = traces.find((t) => t.name === 'openai-chat')!;
    await runDemo({ url: `${base}/v1/traces`, traces: [openaiChat] });
    await until(() => extras.sink!.ledger.count === before + 1, 'the extra transaction');
    await expect
      .poll(() => page.getAttribute('body', 'data-transactions'), { timeout: 10_000 })
      .toBe(String(before + 1));

    expect(errors).toEqual([]);
    expect(external).toEqual([]);
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    const shot = new URL('inspector.png', SCREENSHOT_DIR);
    await page.screenshot({ path: shot.pathname, fullPage: true });
    expect(statSync(shot).size).toBeGreaterThan(10_000);
    await page.close();
  }, 60_000);
});
