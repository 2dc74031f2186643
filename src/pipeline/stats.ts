import type { BatchObservableResult, Meter, MeterProvider, ObservableCounter } from '@opentelemetry/api';
import { MeterBinding } from '../internal/meter-binding.js';

/**
 * `unauthorized`: Fenra refused the API key (401/403); `endpoint_rejected`: the endpoint is not
 * Fenra's usage-transactions URL (404/405/410, a redirect). In both, sending is paused, the
 * queue is kept and one request probes now and then.
 */
export type PipelineState = 'running' | 'unauthorized' | 'endpoint_rejected' | 'disabled' | 'shut_down';

/** Refused by Fenra for good. */
export type FailReason = 'rejected' | 'http_error';
/** Never delivered. */
export type DropReason = 'queue_full' | 'shutdown' | 'retries_exhausted' | 'disabled' | 'no_api_key';

export const FAIL_REASONS: readonly FailReason[] = ['rejected', 'http_error'];
export const DROP_REASONS: readonly DropReason[] = [
  'queue_full',
  'shutdown',
  'retries_exhausted',
  'disabled',
  'no_api_key',
];

/** A snapshot of the pipeline's counters (all counts are transactions unless named otherwise). */
export interface PipelineStats {
  state: PipelineState;
  /** Taken into the queue. */
  enqueued: number;
  /** Put on the wire, resends included. */
  sent: number;
  /** Queued by Fenra (202, or accepted inside a 207). */
  accepted: number;
  failed: Record<FailReason, number>;
  dropped: Record<DropReason, number>;
  /** Retry attempts (requests that resend after a retryable outcome). */
  retries: number;
  /** Batches put back in the queue after their retry budget ran out. */
  requeued: number;
  /** HTTP requests made. */
  requests: number;
  /** Request body bytes sent. */
  bytes: number;
  /** Transactions in requests right now. */
  inFlight: number;
  queueDepth: number;
  /** Sum of the local price estimate of accepted transactions, USD. */
  estimatedUsd: number;
  /** Accepted transactions without a local price. */
  unpriced: number;
}

export function emptyStats(state: PipelineState): PipelineStats {
  return {
    state,
    enqueued: 0,
    sent: 0,
    accepted: 0,
    failed: { rejected: 0, http_error: 0 },
    dropped: { queue_full: 0, shutdown: 0, retries_exhausted: 0, disabled: 0, no_api_key: 0 },
    retries: 0,
    requeued: 0,
    requests: 0,
    bytes: 0,
    inFlight: 0,
    queueDepth: 0,
    estimatedUsd: 0,
    unpriced: 0,
  };
}

/** What the metrics read at collection time. */
export interface PipelineReading {
  stats: PipelineStats;
  /** Local price estimate of accepted transactions by provider and model (bounded). */
  usdByModel: ReadonlyMap<string, { provider: string; model: string; usd: number }>;
}

/**
 * OTel instruments mirroring {@link PipelineStats}, all observable (read at collection time,
 * nothing added on the delivery path), on the given MeterProvider or else the global one.
 * Each metric is either a total or a split by one attribute, never both, so summing the
 * points of a metric never counts a transaction twice.
 */
export class PipelineMetrics {
  private readonly _binding: MeterBinding | undefined;

  /** `provider` null: no metrics at all (a disabled pipeline). */
  constructor(provider: MeterProvider | undefined | null, read: () => PipelineReading) {
    if (provider === null) return;
    this._binding = new MeterBinding(provider, (meter) => bind(meter, read));
  }

  /** Follows a global MeterProvider registered after construction. Cheap; never throws. */
  refresh(): void {
    this._binding?.refresh();
  }
}

function bind(meter: Meter, read: () => PipelineReading): () => void {
  const counter = (name: string, description: string, unit = '{transaction}'): ObservableCounter =>
    meter.createObservableCounter(name, { description, unit });
  const enqueued = counter('fenra.otel.transactions.enqueued', 'Transactions taken into the export queue');
  const sent = counter(
    'fenra.otel.transactions.sent',
    'Transactions put on the wire to Fenra, resends included',
  );
  const accepted = counter('fenra.otel.transactions.accepted', 'Transactions queued by Fenra');
  const failed = counter(
    'fenra.otel.transactions.failed',
    'Transactions refused by Fenra for good, by reason',
  );
  const dropped = counter('fenra.otel.transactions.dropped', 'Transactions never delivered, by reason');
  const requests = counter('fenra.otel.export.requests', 'HTTP requests to Fenra', '{request}');
  const retries = counter('fenra.otel.export.retries', 'Retry attempts', '{retry}');
  const bytes = counter('fenra.otel.export.bytes', 'Request body bytes sent to Fenra', 'By');
  const usd = meter.createObservableCounter('fenra.otel.cost.estimated', {
    description:
      'Local price estimate of accepted transactions, by provider and model (at most 200 pairs, then other)',
    unit: 'USD',
  });
  const queue = meter.createObservableGauge('fenra.otel.queue.depth', {
    description: 'Transactions waiting in the export queue',
    unit: '{transaction}',
  });
  const inFlight = meter.createObservableGauge('fenra.otel.export.in_flight', {
    description: 'Transactions in requests to Fenra',
    unit: '{transaction}',
  });
  const all = [enqueued, sent, accepted, failed, dropped, requests, retries, bytes, usd, queue, inFlight];
  const callback = (r: BatchObservableResult): void => {
    const { stats: s, usdByModel } = read();
    r.observe(enqueued, s.enqueued);
    r.observe(sent, s.sent);
    r.observe(accepted, s.accepted);
    for (const reason of FAIL_REASONS) r.observe(failed, s.failed[reason], { reason });
    for (const reason of DROP_REASONS) r.observe(dropped, s.dropped[reason], { reason });
    r.observe(requests, s.requests);
    r.observe(retries, s.retries);
    r.observe(bytes, s.bytes);
    for (const v of usdByModel.values()) r.observe(usd, v.usd, { provider: v.provider, model: v.model });
    r.observe(queue, s.queueDepth);
    r.observe(inFlight, s.inFlight);
  };
  meter.addBatchObservableCallback(callback, all);
  return () => meter.removeBatchObservableCallback(callback, all);
}
