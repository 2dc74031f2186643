import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { InspectorSummary } from '../../src/local/inspector/summary.js';

/**
 * The newcomer's main job through the BUILT command line (`npm start` runs
 * `node bin/fenra-otel.js serve --demo`): local mode with no API key, the demo billed into the
 * local sink, the inspector answering, a clean stop on SIGINT, and `report` reading the file.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin', 'fenra-otel.js');

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fenra-start-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function until(check: () => Promise<boolean>, what: string, limitMs = 20_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('serve --demo through the built CLI', () => {
  it('bills the demo in local mode, serves the inspector, stops on SIGINT, and report totals the file', async () => {
    const env = { PATH: process.env['PATH'] ?? '', FENRA_DATA_DIR: dir };
    const proc = spawn(process.execPath, [BIN, 'serve', '--demo', '--port', '0', '--grpc-port', '0'], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    proc.stdout.on('data', (c: Buffer) => (out += c.toString()));
    proc.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const exited = new Promise<number | string>((r) =>
      proc.once('exit', (code, sig) => r(sig ?? code ?? -1)),
    );
    try {
      await until(
        async () => /OTEL_EXPORTER_OTLP_ENDPOINT=http:\/\/127\.0\.0\.1:\d+/.test(out),
        'the banner',
      );
      const base = /OTEL_EXPORTER_OTLP_ENDPOINT=(http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1]!;
      expect(out).toContain(
        `LOCAL MODE (no FENRA_API_KEY): transactions are written to ${join(dir, 'transactions.jsonl')}`,
      );
      expect(out).toContain(`inspector:              ${base}/`);
      // Run from this checkout: the hint names its bin file (elsewhere: npx fenra-otel).
      expect(out).toContain('totals in the terminal: node bin/fenra-otel.js report --by customer');
      expect(err).toContain('→ local sink');
      expect(err).not.toContain('Fenra will refuse them');
      let summary: InspectorSummary | undefined;
      await until(async () => {
        summary = (await (await fetch(`${base}/inspector/summary.json`)).json()) as InspectorSummary;
        return summary.totals.transactions >= 11;
      }, 'the demo transactions');
      expect(summary!.mode).toBe('local');
      expect((await fetch(`${base}/`)).status).toBe(200);
    } finally {
      proc.kill('SIGINT');
    }
    expect(await exited).toBe(0);
    expect(err).toMatch(/stopped: \d+ transaction\(s\) accepted, 0 rejected/);

    const lines = readFileSync(join(dir, 'transactions.jsonl'), 'utf8').trim().split('\n');
    const report = spawnSync(process.execPath, [BIN, 'report', '--by', 'model'], {
      cwd: ROOT,
      env,
      encoding: 'utf8',
    });
    expect(report.status).toBe(0);
    expect(report.stdout).toMatch(new RegExp(`\\nTOTAL\\s+${lines.length}\\s`));
    expect(report.stdout).toContain('claude-haiku-4-5-20251001');
  }, 60_000);
});
