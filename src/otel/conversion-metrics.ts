import type { MeterProvider } from '@opentelemetry/api';
import { VERSION } from '../version.js';
import type { ConversionStats } from './span-converter.js';

/**
 * The conversion counters as OTel observable counters, read at collection time: nothing is
 * added to the span path. Cardinality is bounded by ConversionStats (≤ 200 provider/model keys).
 */
export function observeConversion(provider: MeterProvider | undefined, stats: () => ConversionStats): void {
  if (provider === undefined) return;
  const meter = provider.getMeter('@fenra/otel', VERSION);
  const spans = meter.createObservableCounter('fenra.otel.spans.seen', {
    description: 'Spans ended',
    unit: '{span}',
  });
  const calls = meter.createObservableCounter('fenra.otel.llm_calls', {
    description: 'Provider calls recognised (billed or not)',
    unit: '{call}',
  });
  const billed = meter.createObservableCounter('fenra.otel.transactions.billed', {
    description: 'Transactions produced, with attributes fenra.unpriced / fenra.unattributed split out',
    unit: '{transaction}',
  });
  const skipped = meter.createObservableCounter('fenra.otel.spans.skipped', {
    description: 'GenAI spans that produced no transaction, by reason',
    unit: '{span}',
  });
  const usd = meter.createObservableCounter('fenra.otel.cost.estimated_by_model', {
    description: 'Local price estimate of billed transactions, by provider/model',
    unit: 'USD',
  });
  meter.addBatchObservableCallback(
    (r) => {
      const s = stats();
      r.observe(spans, s.spansSeen);
      r.observe(calls, s.llmCalls);
      r.observe(billed, s.billed);
      r.observe(billed, s.unpriced, { 'fenra.unpriced': true });
      r.observe(billed, s.unattributed, { 'fenra.unattributed': true });
      for (const [reason, n] of Object.entries(s.skipped)) r.observe(skipped, n ?? 0, { reason });
      for (const [key, value] of Object.entries(s.estimatedUsd)) {
        const slash = key.indexOf('/');
        r.observe(usd, value, {
          provider: key.slice(0, slash < 0 ? key.length : slash),
          model: slash < 0 ? '' : key.slice(slash + 1),
        });
      }
    },
    [spans, calls, billed, skipped, usd],
  );
}
