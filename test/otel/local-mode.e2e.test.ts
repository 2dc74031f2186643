/**
 * In process without an API key: the same embedded default as `fenra-otel serve`. What would be
 * billed goes to the local sink (`<data dir>/transactions.jsonl`), so `fenra-otel report` (and
 * the inspector of `serve`, which reads the same file) show it; where the file cannot be
 * written it says so once and keeps nothing. Setup 1 and the register entry, in child processes.
 */
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { InspectorSummary } from '../../src/local/inspector/summary.js';
import { parseRecordLines } from '../../src/local/records.js';
import { spawnSidecar } from '../sidecar/spawn-sidecar.js';
import { useFakeServers } from '../register/fake-servers.js';
import { ensureBuilt, runNode, SOURCE_REGISTER } from '../register/run-node.js';

beforeAll(ensureBuilt, 120_000);

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fenra-inproc-local-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const fake = useFakeServers();
/** The app's environment without a key. */
const noKey = (extra: Record<string, string> = {}): Record<string, string> => {
  const e = fake.env({ FENRA_DATA_DIR: dir, ...extra });
  delete e['FENRA_API_KEY'];
  return e;
};
const records = () => parseRecordLines(readFileSync(join(dir, 'transactions.jsonl'), 'utf8'));

describe('in process without an API key', () => {
  it('setup 1: the call goes to the local sink with its price; report totals it; one line says so', async () => {
    const r = await runNode(['test/otel/apps/node-sdk-app.mjs'], noKey({ MODE: 'script' }));
    expect(r.code, r.stderr).toBe(0);
    const { records: lines, problems } = records();
    expect(problems).toEqual([]);
    expect(lines).toHaveLength(1);
    expect(lines[0]!.transaction.context.billable_customer_id).toBe('cus_exit');
    expect(lines[0]!.price).toMatchObject({ source: 'catalog' });
    expect(lines[0]!.price!.usd).toBeGreaterThan(0);
    expect(fake.ingest.requests).toHaveLength(0);
    const file = join(dir, 'transactions.jsonl');
    expect(r.stderr.trim().split('\n')).toEqual([
      `(node:${/\(node:(\d+)\)/.exec(r.stderr)![1]}) [FENRA_NO_API_KEY] FenraOtelWarning: @fenra/otel: No Fenra API key: LOCAL MODE. What would be billed is written to ${file}; ` +
        "see it with 'npx fenra-otel report' (totals) or 'npx fenra-otel serve' (the inspector, at http://127.0.0.1:4318/). " +
        'Set FENRA_API_KEY (or the apiKey option) to send it to Fenra instead; the application is not affected.',
      '(Use `node --trace-warnings ...` to show where the warning was created)',
    ]);
    const report = await runNode(['bin/fenra-otel.js', 'report', '--data-dir', dir], {});
    expect(report.code).toBe(0);
    expect(report.stdout).toMatch(/^cus_exit\s+1\s/m);
    // The inspector of `fenra-otel serve` (local mode) reads the same file.
    const serve = await spawnSidecar(['--grpc-port', '0'], { FENRA_DATA_DIR: dir });
    try {
      const summary = (await (await fetch(`${serve.url}/inspector/summary.json`)).json()) as InspectorSummary;
      expect(summary.totals.transactions).toBe(1);
      expect(summary.byCustomer.map((c) => c.key)).toEqual(['cus_exit']);
    } finally {
      serve.proc.kill('SIGTERM');
      await serve.exited;
    }
  });

  it('the register entry: the same, said in zero-code terms', async () => {
    const r = await runNode(
      [...SOURCE_REGISTER, 'test/register/apps/openai-cjs.cjs'],
      noKey({ FENRA_BILLABLE_CUSTOMER_ID: 'cus_z' }),
    );
    expect(r.code, r.stderr).toBe(0);
    expect(records().records.map((l) => l.transaction.context.billable_customer_id)).toEqual([
      'cus_z',
      'cus_z',
    ]);
    expect(fake.ingest.requests).toHaveLength(0);
    expect(r.stderr).toContain('No Fenra API key: LOCAL MODE.');
    expect(r.stderr).toContain('Set FENRA_API_KEY to send it to Fenra instead');
    expect(r.stderr).not.toMatch(/option\b/);
    expect(r.stderr.split('LOCAL MODE').length - 1).toBe(1);
  });

  it('the register entry exporting every span over OTLP (to a sidecar that bills them): no local copy, and it says why nothing is billed here', async () => {
    const r = await runNode(
      [...SOURCE_REGISTER, 'test/register/apps/openai-cjs.cjs'],
      noKey({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1' }),
    );
    expect(r.code).toBe(0);
    expect(existsSync(join(dir, 'transactions.jsonl'))).toBe(false);
    expect(r.stderr).toContain(
      'No Fenra API key: set FENRA_API_KEY. Until then LLM calls are not billed by this process (spans are still exported over OTLP to http://127.0.0.1:1: a fenra-otel sidecar there bills them with its own key)',
    );
  });

  it('a data directory that cannot be written: one warning, then nothing kept, the app unaffected', async () => {
    const r = await runNode(
      [...SOURCE_REGISTER, 'test/register/apps/openai-cjs.cjs'],
      noKey({ FENRA_DATA_DIR: '/dev/null/fenra', FENRA_BILLABLE_CUSTOMER_ID: 'cus_z' }),
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('app done');
    // Found before anything is written: one line, instead of the local-mode one.
    expect(r.stderr.trim().split('\n')).toEqual([
      '@fenra/otel No Fenra API key, and local mode: /dev/null/fenra/transactions.jsonl cannot be written (ENOTDIR), so what would be billed is not kept ' +
        '(set FENRA_DATA_DIR to a writable directory, or FENRA_API_KEY to send to Fenra); the application is not affected.',
    ]);
    // Nothing else complains: no retries, no refusals reported again.
    expect(r.stderr).not.toMatch(/refused|Cannot deliver|not delivered/);
  });
});
