import type { Reading } from '../internal/self-metrics.js';
import type { ConversionStats } from '../stage/conversion-stats.js';
import type { ResolveCause } from '../stage/trace-holder.js';
import type { BlockedState, PipelineStats } from './stats.js';
import { DROP_REASONS, FAIL_REASONS } from './stats.js';

/**
 * The self-metrics' values (see `SELF_METRICS`) from the counters the conversion stage and
 * the delivery pipeline keep: the same readings feed the OTel instruments in process and the
 * Prometheus text of the sidecar.
 */

/** What the metrics read of a `ConversionStage`. */
export interface StageCounters {
  readonly stats: ConversionStats;
  readonly resolved: Readonly<Record<ResolveCause, number>>;
  readonly heldTraces: number;
}

export function stageReadings(stage: StageCounters): Reading[] {
  const s = stage.stats;
  const out: Reading[] = [
    { name: 'fenra.otel.spans.seen', value: s.spansSeen },
    { name: 'fenra.otel.llm_calls', value: s.llmCalls },
    { name: 'fenra.otel.transactions.billed', value: s.billed },
    { name: 'fenra.otel.transactions.unpriced', value: s.unpriced },
    { name: 'fenra.otel.transactions.unattributed', value: s.unattributed },
    { name: 'fenra.otel.traces.held', value: stage.heldTraces },
  ];
  for (const [reason, n] of Object.entries(s.skipped))
    out.push({ name: 'fenra.otel.spans.skipped', value: n ?? 0, labels: { reason } });
  for (const [cause, n] of Object.entries(stage.resolved))
    out.push({ name: 'fenra.otel.traces.resolved', value: n, labels: { cause } });
  for (const [key, usd] of Object.entries(s.estimatedUsd)) {
    const slash = key.indexOf('/');
    out.push({
      name: 'fenra.otel.cost.estimated_by_model',
      value: usd,
      labels: {
        provider: key.slice(0, slash < 0 ? key.length : slash),
        model: slash < 0 ? key : key.slice(slash + 1),
      },
    });
  }
  return out;
}

const BLOCKED: readonly BlockedState[] = ['unauthorized', 'endpoint_rejected', 'rejecting_all'];

export function pipelineReadings(
  s: PipelineStats,
  usdByModel: ReadonlyMap<string, { provider: string; model: string; usd: number }>,
): Reading[] {
  const out: Reading[] = [
    { name: 'fenra.otel.transactions.enqueued', value: s.enqueued },
    { name: 'fenra.otel.transactions.sent', value: s.sent },
    { name: 'fenra.otel.transactions.accepted', value: s.accepted },
    { name: 'fenra.otel.transactions.possible_duplicates', value: s.possibleDuplicates },
    { name: 'fenra.otel.export.requests', value: s.requests },
    { name: 'fenra.otel.export.retries', value: s.retries },
    { name: 'fenra.otel.export.bytes', value: s.bytes },
    { name: 'fenra.otel.queue.depth', value: s.queueDepth },
    { name: 'fenra.otel.export.in_flight', value: s.inFlight },
  ];
  for (const reason of FAIL_REASONS)
    out.push({ name: 'fenra.otel.transactions.failed', value: s.failed[reason], labels: { reason } });
  for (const reason of DROP_REASONS)
    out.push({ name: 'fenra.otel.transactions.dropped', value: s.dropped[reason], labels: { reason } });
  for (const state of BLOCKED)
    out.push({ name: 'fenra.otel.export.blocked', value: s.state === state ? 1 : 0, labels: { state } });
  for (const v of usdByModel.values())
    out.push({
      name: 'fenra.otel.cost.estimated',
      value: v.usd,
      labels: { provider: v.provider, model: v.model },
    });
  return out;
}
