import type { BatchObservableResult, Meter, MeterProvider } from '@opentelemetry/api';
import { MeterBinding } from '../internal/meter-binding.js';
import type { ConversionStats } from '../stage/conversion-stats.js';

/**
 * The conversion counters as OTel observable counters, read at collection time: nothing is
 * added to the span path. On the given MeterProvider, or else the global one (followed with
 * {@link MeterBinding.refresh} when an SDK registers it later). Each metric is a total or a
 * split by one attribute, never both, so summing its points counts nothing twice.
 * Cardinality is bounded by ConversionStats (≤ 200 provider/model keys, then `other`).
 */
export function observeConversion(
  provider: MeterProvider | undefined,
  stats: () => ConversionStats,
): MeterBinding {
  return new MeterBinding(provider, (meter) => bind(meter, stats));
}

function bind(meter: Meter, stats: () => ConversionStats): () => void {
  const spans = meter.createObservableCounter('fenra.otel.spans.seen', {
    description: 'Spans ended',
    unit: '{span}',
  });
  const calls = meter.createObservableCounter('fenra.otel.llm_calls', {
    description: 'Provider calls recognised (billed or not)',
    unit: '{call}',
  });
  const billed = meter.createObservableCounter('fenra.otel.transactions.billed', {
    description: 'Transactions produced (all of them; unpriced and unattributed ones included)',
    unit: '{transaction}',
  });
  const unpriced = meter.createObservableCounter('fenra.otel.transactions.unpriced', {
    description: 'Transactions produced without a local price (a subset of fenra.otel.transactions.billed)',
    unit: '{transaction}',
  });
  const unattributed = meter.createObservableCounter('fenra.otel.transactions.unattributed', {
    description:
      'Transactions produced without a billable customer (a subset of fenra.otel.transactions.billed)',
    unit: '{transaction}',
  });
  const skipped = meter.createObservableCounter('fenra.otel.spans.skipped', {
    description: 'GenAI spans that produced no transaction, by reason',
    unit: '{span}',
  });
  const usd = meter.createObservableCounter('fenra.otel.cost.estimated_by_model', {
    description: 'Local price estimate of billed transactions, by provider/model (at most 200, then other)',
    unit: 'USD',
  });
  const all = [spans, calls, billed, unpriced, unattributed, skipped, usd];
  const callback = (r: BatchObservableResult): void => {
    const s = stats();
    r.observe(spans, s.spansSeen);
    r.observe(calls, s.llmCalls);
    r.observe(billed, s.billed);
    r.observe(unpriced, s.unpriced);
    r.observe(unattributed, s.unattributed);
    for (const [reason, n] of Object.entries(s.skipped)) r.observe(skipped, n ?? 0, { reason });
    for (const [key, value] of Object.entries(s.estimatedUsd)) {
      const slash = key.indexOf('/');
      r.observe(usd, value, {
        provider: key.slice(0, slash < 0 ? key.length : slash),
        model: slash < 0 ? key : key.slice(slash + 1),
      });
    }
  };
  meter.addBatchObservableCallback(callback, all);
  return () => meter.removeBatchObservableCallback(callback, all);
}
