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
import { resolveServeConfig } from '../../src/sidecar/serve-config.js';
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

describe.skipIf(!HAVE_CHROMIUM)('inspector page in headless Chromium', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fenra-inspector-'));
    const { config } = resolveServeConfig({ flags: { port: '0' }, env: {} });
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
    await extras.stop();
    await until(() => extras.sink!.ledger.count >= 11, 'the demo transactions');
    const records = parseRecordLines(readFileSync(extras.sink!.file, 'utf8')).records;
    const truth = new Ledger().addAll(records).snapshot();
    expect(truth.totals.transactions).toBe(records.length);

    const page = await browser!.newPage({ viewport: { width: 1280, height: 1400 } });
    const external: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(base)) external.push(r.url());
    });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const res = await page.goto(`${base}/`);
    expect(res?.status()).toBe(200);
    await expect.poll(() => page.textContent('#c-transactions')).toBe(String(truth.totals.transactions));

    expect(await page.textContent('#c-usd')).toBe(usd(truth.totals.usd));
    expect(await page.textContent('#c-unpriced')).toBe(String(truth.totals.unpriced));
    expect(await page.textContent('#c-unattributed')).toBe(String(truth.unattributed));
    expect(await page.textContent('#mode')).toBe('local mode');
    expect(await page.textContent('#endpoint')).toBe(base);

    // Per customer: one row each, with its count and USD.
    const customerRows = await page.$$eval('#by-customer tbody tr', (trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')),
    );
    expect(customerRows.map((r) => [r[0], r[1], r[4]])).toEqual(
      truth.by.customer.map((c) => [c.key, String(c.totals.transactions), usd(c.totals.usd)]),
    );
    const modelRows = await page.$$eval('#by-model tbody tr', (trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')),
    );
    expect(modelRows.map((r) => [r[0], r[4]])).toEqual(truth.by.model.map((c) => [c.key, usd(c.totals.usd)]));
    expect(truth.by.feature.map((f) => f.key)).toContain(NONE);

    // Every transaction is in the live table; the chart has bars; the not-billed reasons show.
    expect(await page.$$eval('#rows tr', (trs) => trs.length)).toBe(records.length);
    expect(await page.$$eval('#chart rect.bar', (r) => r.length)).toBeGreaterThan(0);
    expect(await page.textContent('#dropped')).toContain('missing_usage');
    expect(Number(await page.textContent('#c-dropped'))).toBeGreaterThan(0);

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
