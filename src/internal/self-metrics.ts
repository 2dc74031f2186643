import type { BatchObservableResult, Meter, Observable } from '@opentelemetry/api';

/**
 * THE vocabulary of our own metrics: every self-metric is named here once, with its kind,
 * unit, description and labels. In process it is rendered as OpenTelemetry observable
 * instruments ({@link bindSelfMetrics}); in the sidecar as Prometheus text, under the name
 * {@link prometheusName} derives (dots become underscores, the unit is a suffix, counters end
 * in `_total`). Counts come from where they are kept: the conversion stage
 * (`ConversionStage.stats`/`resolved`), the delivery pipeline (`stats()`), the sidecar's
 * receiver and spool. Each metric is a total or a split by its labels, never both, so summing
 * the points of one metric never counts a thing twice.
 */
export interface MetricDef {
  kind: 'counter' | 'gauge';
  /** UCUM unit: `{transaction}` (a count of them), `By`, `USD`. */
  unit: string;
  description: string;
  labels: readonly string[];
  /** `sidecar`: only `fenra-otel serve` has it; `all`: every mode. */
  where: 'all' | 'sidecar';
}

const c = (
  unit: string,
  description: string,
  labels: readonly string[] = [],
  where: MetricDef['where'] = 'all',
): MetricDef => ({
  kind: 'counter',
  unit,
  description,
  labels,
  where,
});
const g = (
  unit: string,
  description: string,
  labels: readonly string[] = [],
  where: MetricDef['where'] = 'all',
): MetricDef => ({
  kind: 'gauge',
  unit,
  description,
  labels,
  where,
});

export const SELF_METRICS = {
  // The conversion stage.
  'fenra.otel.spans.seen': c('{span}', 'Spans given to the conversion stage'),
  'fenra.otel.llm_calls': c('{call}', 'Provider calls recognised (billed or not)'),
  'fenra.otel.transactions.billed': c(
    '{transaction}',
    'Transactions produced (all of them; unpriced and unattributed ones included)',
  ),
  'fenra.otel.transactions.unpriced': c(
    '{transaction}',
    'Transactions produced without a local price (a subset of fenra.otel.transactions.billed)',
  ),
  'fenra.otel.transactions.unattributed': c(
    '{transaction}',
    'Transactions produced without a billable customer (a subset of fenra.otel.transactions.billed)',
  ),
  'fenra.otel.spans.skipped': c('{span}', 'GenAI spans that produced no transaction, by reason', ['reason']),
  'fenra.otel.cost.estimated_by_model': c(
    'USD',
    'Local price estimate of billed transactions, by provider and model (at most 200 pairs, then other)',
    ['provider', 'model'],
  ),
  'fenra.otel.traces.resolved': c('{trace}', 'Traces resolved, by cause (root, timeout, overflow, flush)', [
    'cause',
  ]),
  'fenra.otel.traces.held': g('{trace}', 'Traces held waiting for their root span'),

  // The delivery pipeline.
  'fenra.otel.transactions.enqueued': c('{transaction}', 'Transactions taken into the export queue'),
  'fenra.otel.transactions.sent': c('{transaction}', 'Transactions put on the wire, resends included'),
  'fenra.otel.transactions.accepted': c('{transaction}', 'Transactions taken by Fenra (or the local sink)'),
  'fenra.otel.transactions.possible_duplicates': c(
    '{transaction}',
    'Accepted transactions that may also have arrived earlier (an answer was lost: a timeout, a reset, a 500, a crash); their trace_id and span_id identify the copy',
  ),
  'fenra.otel.transactions.failed': c('{transaction}', 'Transactions refused for good, by reason', [
    'reason',
  ]),
  'fenra.otel.transactions.dropped': c('{transaction}', 'Transactions never delivered, by reason', [
    'reason',
  ]),
  'fenra.otel.export.requests': c('{request}', 'Requests to Fenra (or writes to the local sink)'),
  'fenra.otel.export.retries': c('{retry}', 'Retry attempts'),
  'fenra.otel.export.bytes': c('By', 'Request body bytes sent'),
  'fenra.otel.cost.estimated': c(
    'USD',
    'Local price estimate of accepted transactions, by provider and model (at most 200 pairs, then other)',
    ['provider', 'model'],
  ),
  'fenra.otel.queue.depth': g('{transaction}', 'Transactions waiting in the export queue'),
  'fenra.otel.export.in_flight': g('{transaction}', 'Transactions in requests right now'),
  'fenra.otel.export.blocked': g(
    '1',
    '1 while sending is paused and probed: Fenra refuses the key (unauthorized), the endpoint (endpoint_rejected) or every transaction (rejecting_all)',
    ['state'],
  ),

  // The sidecar's receiver, spool and pass-through.
  'fenra.otel.receiver.requests': c(
    '{request}',
    'OTLP requests by transport (http, grpc), encoding and answer (HTTP status or gRPC code)',
    ['transport', 'encoding', 'status'],
    'sidecar',
  ),
  'fenra.otel.receiver.spans': c('{span}', 'Spans decoded from OTLP requests', ['encoding'], 'sidecar'),
  'fenra.otel.receiver.spans_rejected': c(
    '{span}',
    'Spans reported back as rejected (partial_success)',
    [],
    'sidecar',
  ),
  'fenra.otel.receiver.bytes': c('By', 'Request body bytes as received', ['encoding'], 'sidecar'),
  'fenra.otel.receiver.inflight_bytes': g(
    'By',
    'Request body bytes held now (as received and decompressed)',
    [],
    'sidecar',
  ),
  'fenra.otel.receiver.connections_closed': c(
    '{connection}',
    'Client connections closed to keep room: an idle one closed for a new one, or a new one refused when none was idle',
    ['why'],
    'sidecar',
  ),
  'fenra.otel.receiver.requests_refused': c(
    '{request}',
    'Requests refused (403) for their Host or Origin header: not a name of this server (see --allowed-hosts)',
    ['header'],
    'sidecar',
  ),
  'fenra.otel.cost.estimated_by_customer': c(
    'USD',
    'Local price estimate of accepted transactions by customer, only with --metrics-customer-labels (at most 200 customers, then other)',
    ['customer'],
    'sidecar',
  ),
  'fenra.otel.grpc.connections': g('{connection}', 'Open OTLP/gRPC client connections', [], 'sidecar'),
  'fenra.otel.grpc.calls': g('{call}', 'OTLP/gRPC calls in progress', [], 'sidecar'),
  'fenra.otel.spool.bytes': g('By', 'Bytes held in the spool', [], 'sidecar'),
  'fenra.otel.spool.records': g('{record}', 'Records held in the spool', [], 'sidecar'),
  'fenra.otel.spool.writable': g(
    '1',
    '1 while the spool can be written, 0 while its disk refuses writes',
    [],
    'sidecar',
  ),
  'fenra.otel.billing.backlog': g(
    '{transaction}',
    'Resolved transactions waiting for room in the export queue',
    [],
    'sidecar',
  ),
  'fenra.otel.forward.requests': c('{request}', 'Pass-through requests by outcome', ['outcome'], 'sidecar'),
  'fenra.otel.forward.pending_bytes': g('By', 'Bytes waiting to be forwarded', [], 'sidecar'),
} as const satisfies Record<string, MetricDef>;

export type MetricName = keyof typeof SELF_METRICS;

/** One value of a metric at collection time. */
export interface Reading {
  name: MetricName;
  value: number;
  labels?: Readonly<Record<string, string>>;
}

const UNIT_SUFFIX: Readonly<Record<string, string>> = { By: 'bytes', USD: 'usd', s: 'seconds' };

/** The Prometheus name of a metric: `fenra.otel.export.bytes` (counter, By) → `fenra_otel_export_bytes_total`. */
export function prometheusName(name: MetricName): string {
  const def: MetricDef = SELF_METRICS[name];
  let n = name.replace(/\./g, '_');
  const suffix = UNIT_SUFFIX[def.unit];
  if (suffix !== undefined && !n.endsWith(`_${suffix}`)) n += `_${suffix}`;
  return def.kind === 'counter' ? `${n}_total` : n;
}

/**
 * Creates the observable instruments of the metrics in `where` on `meter`, read through one
 * batch callback at collection time (nothing is added on the hot path); returns how to detach.
 */
export function bindSelfMetrics(
  meter: Meter,
  where: MetricDef['where'],
  read: () => Iterable<Reading>,
): () => void {
  const instruments = new Map<MetricName, Observable>();
  for (const [name, d] of Object.entries(SELF_METRICS) as [MetricName, MetricDef][]) {
    if (d.where !== 'all' && d.where !== where) continue;
    const options = { description: d.description, unit: d.unit };
    instruments.set(
      name,
      d.kind === 'counter'
        ? meter.createObservableCounter(name, options)
        : meter.createObservableGauge(name, options),
    );
  }
  const all = [...instruments.values()];
  const callback = (r: BatchObservableResult): void => {
    for (const p of read()) {
      const instrument = instruments.get(p.name);
      if (instrument !== undefined) r.observe(instrument, p.value, p.labels);
    }
  };
  meter.addBatchObservableCallback(callback, all);
  return () => meter.removeBatchObservableCallback(callback, all);
}
