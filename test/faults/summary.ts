import { appendFileSync } from 'node:fs';
import { inject } from 'vitest';

/**
 * One row of the fault suite's summary (counts are transactions). `lost` is what was
 * acknowledged and neither delivered nor counted by a configured policy: it must be 0.
 */
export interface ScenarioNumbers {
  scenario: string;
  /** Transactions acknowledged: in requests the sidecar answered 200, or spans the app ended in process. */
  acknowledged: number;
  /** Of those, distinct transactions the ingest server recorded. */
  delivered: number;
  /** Not delivered, but counted by a configured policy (the in-process queue bound, a refusal for good). */
  counted: number;
  /** Extra copies the ingest server recorded. */
  duplicates: number;
  /** Copies we counted as possible (an answer lost: a timeout, a reset, a kill). */
  possibleDuplicates: number;
  /** What was in flight at the faults: the bound the duplicates stay within. */
  inFlightBound?: number;
  /** Highest RSS of the process under test, MiB. */
  maxRssMb: number;
  note?: string;
}

export const lostOf = (n: Pick<ScenarioNumbers, 'acknowledged' | 'delivered' | 'counted'>): number =>
  n.acknowledged - n.delivered - n.counted;

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
