import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import type { ScenarioNumbers } from './summary.js';

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
    const lines = rows.map(
      (r) =>
        `  ${r.scenario.padEnd(44)} sent ${String(r.sent).padStart(6)}  delivered ${String(r.delivered).padStart(6)}  duplicates ${String(r.duplicates).padStart(4)}  counted ${String(r.counted).padStart(5)}  max RSS ${r.maxRssMb.toFixed(0).padStart(4)} MiB${r.note ? `  (${r.note})` : ''}`,
    );
    console.log(`\nFault suite summary (transactions):\n${lines.join('\n')}\n`);
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    faultsSummaryFile: string;
  }
}
