import { diag } from '@opentelemetry/api';
import { PriceBook } from '../pricing/price-book.js';
import type { Pricer } from '../pricing/types.js';
import { VERSION } from '../version.js';
import { BillingPath } from './billing.js';
import type { TransactionDelivery } from './delivery.js';
import { Forwarder } from './forwarder.js';
import { RouteServer, send } from './http-server.js';
import { Metrics } from './metrics.js';
import { PipelineDelivery } from './pipeline-delivery.js';
import { otlpTracesHandler } from './otlp-route.js';
import type { ServeConfig } from './serve-config.js';
import type { Spool } from './spool.js';
import { DiskSpool, MemorySpool } from './spool.js';

/**
 * Builds and starts the sidecar: spool (replayed first), billing path, delivery to Fenra,
 * optional pass-through, and the HTTP routes. `server.route()` stays open for more pages.
 */
export interface RunningSidecar {
  readonly address: { host: string; port: number };
  readonly server: RouteServer;
  readonly metrics: Metrics;
  /** Stops accepting, resolves held traces, delivers within the deadline; the rest stays spooled. */
  shutdown(): Promise<void>;
}

export interface SidecarDeps {
  pricer?: Pricer;
  delivery?: TransactionDelivery;
  /** Where `delivery` sends transactions, for the start-up log (default: the Fenra endpoint). */
  destination?: string;
  /** Wraps the delivery (given or built), e.g. to watch what is accepted. */
  wrapDelivery?: (delivery: TransactionDelivery) => TransactionDelivery;
}

const log = diag.createComponentLogger({ namespace: '@fenra/otel/sidecar' });

export async function startSidecar(config: ServeConfig, deps: SidecarDeps = {}): Promise<RunningSidecar> {
  const metrics = new Metrics();
  let spool: Spool;
  let disk: DiskSpool | undefined;
  let replay: ReturnType<DiskSpool['load']> | undefined;
  if (config.spoolDir) {
    disk = new DiskSpool(config.spoolDir, config.spoolMaxBytes);
    replay = disk.load();
    spool = disk;
  } else spool = new MemorySpool(config.spoolMaxBytes);

  const built =
    deps.delivery ??
    new PipelineDelivery({
      endpoint: config.endpoint,
      apiKey: config.apiKey,
      maxQueueSize: config.maxQueueSize,
      maxExportBatchSize: config.batchSize,
      scheduledDelayMillis: config.flushIntervalMillis,
      requestTimeoutMillis: config.requestTimeoutMillis,
      exportTimeoutMillis: Math.max(30_000, config.requestTimeoutMillis),
      flushTimeoutMillis: config.shutdownTimeoutMillis,
      concurrencyLimit: 2,
    });
  const delivery = deps.wrapDelivery ? deps.wrapDelivery(built) : built;
  const billing = new BillingPath(
    {
      conversion: {
        pricer: deps.pricer ?? new PriceBook(),
        defaultCustomerId: config.customerId,
        customerIdKeys: config.customerIdKeys,
        contextKeys: config.contextKeys,
        azureDeployments: config.azureDeployments,
      },
      waitMillis: config.traceWaitMillis,
      maxTraces: config.maxTraces,
      maxSpansPerTrace: config.maxSpansPerTrace,
    },
    spool,
    delivery,
    metrics,
  );
  metrics.gauge('fenra_otel_spool_bytes', 'Bytes held in the spool', () => spool.bytes());
  metrics.gauge('fenra_otel_spool_records', 'Records held in the spool', () => spool.records());
  metrics.gauge(
    'fenra_otel_queue_transactions',
    'Transactions queued for Fenra',
    () => delivery.stats().queued + delivery.stats().inFlight,
  );
  metrics.gauge(
    'fenra_otel_delivery_retries_total',
    'Retried requests to Fenra',
    () => delivery.stats().retries,
    'counter',
  );
  metrics.gauge(
    'fenra_otel_delivery_requests_total',
    'Requests sent to Fenra',
    () => delivery.stats().requests,
    'counter',
  );
  metrics.gauge('fenra_otel_key_rejected', '1 while Fenra rejects the API key', () =>
    delivery.stats().keyRejected ? 1 : 0,
  );

  if (replay) {
    if (replay.records.length || replay.discarded) {
      log.info(
        `replaying the spool: ${replay.records.length} record(s), ${replay.acked.size} already delivered, ${replay.discarded} torn file(s) discarded`,
      );
    }
    billing.replay(replay.records, replay.acked);
  }

  const forwarder = config.forward
    ? new Forwarder(
        {
          url: config.forward,
          headers: config.forwardHeaders,
          timeoutMillis: 10_000,
          maxPendingBytes: 64 * 1024 * 1024,
          concurrency: 4,
        },
        metrics,
      )
    : undefined;

  let accepting = true;
  const server = new RouteServer();
  server.route(
    'POST',
    '/v1/traces',
    otlpTracesHandler({
      maxBodyBytes: config.maxBodyBytes,
      maxDecompressedBytes: config.maxDecompressedBytes,
      bearerToken: config.receiverToken,
      retryAfterSeconds: config.retryAfterSeconds,
      billing,
      metrics,
      forwarder,
      accepting: () => accepting,
    }),
  );
  server.route('GET', '/healthz', (_req, res) => send(res, 200, 'ok\n'));
  server.route('GET', '/readyz', (_req, res) => {
    const problems: string[] = [];
    if (!accepting) problems.push('shutting down');
    if (delivery.stats().keyRejected) problems.push('Fenra rejects the API key');
    if (billing.isFull()) problems.push('the spool is full');
    if (problems.length) send(res, 503, `not ready: ${problems.join('; ')}\n`);
    else send(res, 200, 'ready\n');
  });
  server.route('GET', '/metrics', (_req, res) =>
    send(res, 200, metrics.render(), 'text/plain; version=0.0.4; charset=utf-8'),
  );

  let address: { host: string; port: number };
  try {
    address = await server.listen(config.port, config.host);
  } catch (e) {
    billing.stop();
    disk?.unlock();
    throw e;
  }
  log.info(
    `fenra-otel ${VERSION} serving OTLP/HTTP on http://${address.host}:${address.port}/v1/traces → ${deps.destination ?? config.endpoint}` +
      (config.spoolDir ? ` (spool ${config.spoolDir})` : ' (no spool: in memory only)') +
      (config.forward ? ` and pass-through to ${config.forward}` : ''),
  );
  if (!config.apiKey && !deps.delivery)
    log.warn(
      'no Fenra API key (FENRA_API_KEY): nothing is sent to Fenra' +
        (config.spoolDir ? '; the spool keeps what arrives for a start with a key' : ''),
    );

  let closing: Promise<void> | undefined;
  const shutdown = (): Promise<void> =>
    (closing ??= (async () => {
      accepting = false;
      const end = Date.now() + config.shutdownTimeoutMillis;
      const left = (): number => Math.max(0, end - Date.now());
      await server.close(Math.min(2_000, left()));
      billing.flushTraces();
      billing.stop();
      await Promise.all([delivery.forceFlush(left()), forwarder?.shutdown(left())]);
      await delivery.shutdown();
      await spool.settle();
      disk?.unlock();
      const s = delivery.stats();
      log.info(
        `stopped: ${s.accepted} transaction(s) accepted, ${s.rejected} rejected` +
          (spool.records() ? `, ${spool.records()} spool record(s) kept for the next start` : ''),
      );
    })());

  return { address, server, metrics, shutdown };
}
