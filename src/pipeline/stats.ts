import type { Attributes, Counter, MeterProvider } from '@opentelemetry/api';
import { VERSION } from '../version.js';

export type PipelineState = 'running' | 'unauthorized' | 'disabled' | 'shut_down';

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

/** OTel instruments mirroring {@link PipelineStats}; every call is a no-op without a MeterProvider. */
export class PipelineMetrics {
  private readonly _counters: Record<string, Counter> = {};

  constructor(provider: MeterProvider | undefined, observe: () => { queueDepth: number; inFlight: number }) {
    if (provider === undefined) return;
    const meter = provider.getMeter('@fenra/otel', VERSION);
    const counter = (name: string, description: string, unit = '{transaction}'): void => {
      this._counters[name] = meter.createCounter(name, { description, unit });
    };
    counter('fenra.otel.transactions.enqueued', 'Transactions taken into the export queue');
    counter('fenra.otel.transactions.accepted', 'Transactions queued by Fenra');
    counter('fenra.otel.transactions.failed', 'Transactions refused by Fenra for good, by reason');
    counter('fenra.otel.transactions.dropped', 'Transactions never delivered, by reason');
    counter('fenra.otel.export.requests', 'HTTP requests to Fenra', '{request}');
    counter('fenra.otel.export.retries', 'Retry attempts', '{retry}');
    counter('fenra.otel.export.bytes', 'Request body bytes sent to Fenra', 'By');
    counter('fenra.otel.cost.estimated', 'Local price estimate of accepted transactions', 'USD');
    const queue = meter.createObservableGauge('fenra.otel.queue.depth', {
      description: 'Transactions waiting in the export queue',
      unit: '{transaction}',
    });
    const inFlight = meter.createObservableGauge('fenra.otel.export.in_flight', {
      description: 'Transactions in requests to Fenra',
      unit: '{transaction}',
    });
    meter.addBatchObservableCallback(
      (result) => {
        const o = observe();
        result.observe(queue, o.queueDepth);
        result.observe(inFlight, o.inFlight);
      },
      [queue, inFlight],
    );
  }

  add(name: string, value: number, attributes?: Attributes): void {
    const c = this._counters[name];
    if (c === undefined || value === 0) return;
    try {
      c.add(value, attributes);
    } catch {
      // a faulty metrics SDK must not break delivery
    }
  }
}
