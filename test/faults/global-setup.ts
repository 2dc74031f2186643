import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import type { ScenarioNumbers } from './summary.js';
import { lostOf } from './summary.js';

/** Collects every scenario's numbers (written by the test files) and prints them at the end. */
export default function setup(project: TestProject): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'fenra-faults-'));
  const file = join(dir, 'summary.jsonl');
  project.provide('faultsSummaryFile', file);
  return () => {
    const rows: ScenarioNumbers[] = existsSync(file)
      ? readFileSync(file, 'utf8')
          .split('\n')
          .filter((l) => l.trim() !== '')
          .map((l) => JSON.parse(l) as ScenarioNumbers)
      : [];
    rmSync(dir, { recursive: true, force: true });
    if (rows.length === 0) return;
    const pad = (v: number | string, n: number): string => String(v).padStart(n);
    const header =
      `  ${'scenario'.padEnd(46)} ${pad('acked', 7)} ${pad('delivered', 9)} ${pad('counted', 7)} ${pad('lost', 4)} ` +
      `${pad('dup', 5)} ${pad('possible dup', 12)} ${pad('in flight', 9)} ${pad('peak RSS', 9)}`;
    const lines = rows.map(
      (r) =>
        `  ${r.scenario.padEnd(46)} ${pad(r.acknowledged, 7)} ${pad(r.delivered, 9)} ${pad(r.counted, 7)} ` +
        `${pad(lostOf(r), 4)} ${pad(r.duplicates, 5)} ${pad(r.possibleDuplicates, 12)} ` +
        `${pad(r.inFlightBound ?? '-', 9)} ${pad(`${r.maxRssMb.toFixed(0)} MiB`, 9)}` +
        (r.note ? `\n  ${' '.repeat(46)} ${r.note}` : ''),
    );
    console.log(`\nFault suite summary (transactions):\n${header}\n${lines.join('\n')}\n`);
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    faultsSummaryFile: string;
  }
}
