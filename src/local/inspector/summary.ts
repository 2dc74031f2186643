import type { LedgerSnapshot, Row, Totals } from '../ledger.js';
import { roundUsd } from '../ledger.js';

/**
 * The inspector's JSON (`GET /inspector/summary.json`): pure functions from a ledger snapshot
 * and the sidecar's counters to what the page shows.
 */
export interface SeriesBucket {
  /** Epoch ms, bucket start. */
  start: number;
  end: number;
  usd: number;
  transactions: number;
}

export interface InspectorSummary {
  mode: 'local' | 'fenra';
  /** Where transactions go: the sink file, or Fenra's endpoint. */
  destination: string;
  /** The OTLP endpoint to point apps at. */
  otlpEndpoint: string;
  generatedAt: string;
  totals: Totals;
  unattributed: number;
  /** Transactions whose instrumentation is known to drop the cache split (cached input billed in full). */
  cacheSplitMissing: number;
  /** Transactions billed without the reasoning tokens their instrumentation leaves out. */
  reasoningMissing: number;
  unpricedReasons: Record<string, number>;
  /** Spans or transactions that produced no billed transaction, by reason (from the counters). */
  dropped: Record<string, number>;
  /** All of `dropped`: what the "not billed" card shows, the sum of its table. */
  droppedTotal: number;
  /** Of `dropped`, the spans billed once from another span (`aggregate`, `duplicate`): not losses. */
  droppedElsewhere: number;
  byCustomer: { key: string; totals: Totals }[];
  byModel: { key: string; totals: Totals }[];
  byFeature: { key: string; totals: Totals }[];
  recent: Row[];
  series: SeriesBucket[];
}

const STEPS_MS = [
  1_000,
  5_000,
  10_000,
  30_000,
  60_000,
  5 * 60_000,
  15 * 60_000,
  3_600_000,
  6 * 3_600_000,
  86_400_000,
];

/**
 * Spend over time in at most `maxBuckets` equal buckets of a round size (1 s … 1 day), from the
 * first point to the latest (or `nowMs`, when given and later) and covering at least
 * `minSpanMs`. Empty buckets are kept so the chart's x axis is linear.
 */
export function spendSeries(
  points: readonly [number, number][],
  maxBuckets = 40,
  nowMs?: number,
  minSpanMs = 0,
): SeriesBucket[] {
  if (points.length === 0) return [];
  let min = Infinity;
  let max = nowMs ?? -Infinity;
  for (const [t] of points) {
    if (t < min) min = t;
    if (t > max) max = t;
  }
  min = Math.min(min, max - minSpanMs);
  const span = max - min;
  const step = STEPS_MS.find((s) => span / s < maxBuckets) ?? Math.ceil(span / maxBuckets);
  const first = Math.floor(min / step) * step;
  const n = Math.floor((max - first) / step) + 1;
  const buckets: SeriesBucket[] = Array.from({ length: n }, (_, i) => ({
    start: first + i * step,
    end: first + (i + 1) * step,
    usd: 0,
    transactions: 0,
  }));
  for (const [t, usd] of points) {
    const b = buckets[Math.min(n - 1, Math.floor((t - first) / step))]!;
    b.usd += usd;
    b.transactions++;
  }
  for (const b of buckets) b.usd = roundUsd(b.usd);
  return buckets;
}

/**
 * Skips and refusals from the sidecar's Prometheus text: spans skipped by reason
 * (`fenra_otel_spans_skipped_total`), transactions refused (`refused_<reason>`) and never
 * delivered (`dropped_<reason>`).
 */
export function droppedFromMetrics(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  const re =
    /^fenra_otel_(spans_skipped|transactions_failed|transactions_dropped)_total\{([^}]*)\}\s+(\S+)$/gm;
  const prefix: Record<string, string> = {
    spans_skipped: '',
    transactions_failed: 'refused_',
    transactions_dropped: 'dropped_',
  };
  for (const m of text.matchAll(re)) {
    const reason = /(?:^|,)reason="((?:[^"\\]|\\.)*)"/.exec(m[2]!)?.[1];
    const value = Number(m[3]);
    if (reason === undefined || !Number.isFinite(value) || value <= 0) continue;
    const key = prefix[m[1]!]! + reason;
    out[key] = (out[key] ?? 0) + value;
  }
  return out;
}

/** Reasons meaning "billed once, from another span": not a loss. */
const DEDUPED = new Set(['aggregate', 'duplicate']);

export interface SummaryInputs {
  mode: 'local' | 'fenra';
  destination: string;
  otlpEndpoint: string;
  snapshot: LedgerSnapshot;
  dropped: Record<string, number>;
  nowMs: number;
  /** Rows in the table (newest first). */
  maxRows?: number;
}

export function buildSummary(i: SummaryInputs): InspectorSummary {
  const s = i.snapshot;
  return {
    mode: i.mode,
    destination: i.destination,
    otlpEndpoint: i.otlpEndpoint,
    generatedAt: new Date(i.nowMs).toISOString(),
    totals: s.totals,
    unattributed: s.unattributed,
    cacheSplitMissing: s.cacheSplitMissing,
    reasoningMissing: s.reasoningMissing,
    unpricedReasons: s.unpricedReasons,
    dropped: i.dropped,
    droppedTotal: Object.values(i.dropped).reduce((a, v) => a + v, 0),
    droppedElsewhere: Object.entries(i.dropped)
      .filter(([k]) => DEDUPED.has(k))
      .reduce((a, [, v]) => a + v, 0),
    byCustomer: s.by.customer,
    byModel: s.by.model,
    byFeature: s.by.feature,
    recent: s.recent.slice(0, i.maxRows ?? 100),
    // From the first call to the last: the bars span the data.
    series: spendSeries(s.points, 40),
  };
}
