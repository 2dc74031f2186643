import { appendFileSync } from 'node:fs';
import { inject } from 'vitest';

export interface ScenarioNumbers {
  scenario: string;
  /** Transactions the app (or sender) produced. */
  sent: number;
  /** Distinct transactions the ingest server recorded. */
  delivered: number;
  /** Extra copies the ingest server recorded. */
  duplicates: number;
  /** Not delivered but counted with a reason (failed / dropped). */
  counted: number;
  /** Highest RSS seen in the process under test, MiB. */
  maxRssMb: number;
  note?: string;
}

/** Records one scenario's numbers for the summary printed at the end of the run. */
export function report(n: ScenarioNumbers): void {
  appendFileSync(inject('faultsSummaryFile'), `${JSON.stringify(n)}\n`);
}

/** Samples this process's RSS every 50 ms; `stop()` returns the peak in MiB. */
export function rssSampler(): { stop(): number } {
  let peak = process.memoryUsage.rss();
  const t = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 50);
  return {
    stop() {
      clearInterval(t);
      return Math.max(peak, process.memoryUsage.rss()) / 1024 / 1024;
    },
  };
}
