import { diag } from '@opentelemetry/api';
import type { ServeConfig } from '../config/serve.js';
import { fenraSender } from '../fenra/client.js';
import { displayUrl } from '../internal/display-url.js';
import type { Scheduler } from '../internal/scheduler.js';
import type { DeliveryPipelineDeps } from '../pipeline/delivery-config.js';
import { DeliveryPipeline } from '../pipeline/delivery-pipeline.js';
import { keptText } from '../internal/conditions.js';
import { pipelineReadings, stageReadings } from '../pipeline/metric-readings.js';
import type { TransactionSender } from '../pipeline/sender.js';
import type { SettledHook } from '../pipeline/settlement-ledger.js';
import type { PipelineStats } from '../pipeline/stats.js';
import { PriceBook } from '../pricing/price-book.js';
import type { Pricer } from '../pricing/types.js';
import type { ConversionStats } from '../stage/conversion-stats.js';
import { VERSION } from '../version.js';
import { BillingPath } from './billing.js';
import { DiskSpool } from './disk-spool.js';
import { Forwarder } from './forwarder.js';
import { OtlpGrpcServer } from './grpc/otlp-grpc-server.js';
import { hostGuard } from './host-guard.js';
import { maxDroppedBytes, RouteServer, send } from './http-server.js';
import { Metrics } from './metrics.js';
import { bearerChecker } from './bearer-token.js';
import { otlpTracesHandler } from './otlp-route.js';
import { ByteBudget } from './read-body.js';
import { TraceReceiver } from './trace-receiver.js';
import type { Spool } from './spool.js';
import { MemorySpool } from './spool.js';
import type { SpoolFs } from './spool-fs.js';

/**
 * Builds and starts the sidecar: spool (replayed first), billing path, the delivery pipeline
 * (to Fenra, or to the local sink in local mode), optional pass-through, and the HTTP routes.
 * `server.route()` stays open for more pages.
 */
export interface RunningSidecar {
  readonly address: { host: string; port: number };
  /** Where OTLP/gRPC listens (undefined: turned off, `--grpc-port 0`). */
  readonly grpcAddress: { host: string; port: number } | undefined;
  readonly server: RouteServer;
  readonly metrics: Metrics;
  /** The conversion stage's and the pipeline's counters. */
  stats(): { conversion: ConversionStats; delivery: PipelineStats };
  /**
   * Keeps accepting for `drainMillis` (not ready meanwhile), then stops accepting, resolves
   * held traces and delivers, all within `shutdownTimeoutMillis`; the rest stays spooled.
   * Called again during the drain, it ends the drain.
   */
  shutdown(): Promise<void>;
}

export interface SidecarDeps {
  pricer?: Pricer;
  /** Where transactions go (local mode: the local sink). Default: Fenra at `config.endpoint`. */
  sender?: TransactionSender;
  /** Where `sender` delivers, for the logs (default: the Fenra endpoint). */
  destination?: string;
  /** Clock and timers of trace holding (tests advance a manual one). */
  scheduler?: Scheduler;
  /** Called once per settled group of transactions (e.g. the inspector's ledger records what was accepted). */
  onSettled?: SettledHook;
  /** The pipeline's clock and waits (tests compress time). */
  pipeline?: Pick<
    DeliveryPipelineDeps,
    'now' | 'sleep' | 'random' | 'retryPolicy' | 'unauthorizedProbeMillis' | 'rejectingProbeMillis'
  >;
  /** The spool's file-system calls (tests make them fail). */
  spoolFs?: SpoolFs;
}

const log = diag.createComponentLogger({ namespace: '@fenra/otel/sidecar' });

/** Paths served without the receiver token: probes (the OTLP route checks its own). */
const OPEN_PATHS: ReadonlySet<string> = new Set(['/v1/traces', '/healthz', '/readyz']);
/** Paths that need the token from anywhere, this machine included (a scraper can send one). */
const TOKEN_PATHS: ReadonlySet<string> = new Set(['/metrics']);

const isLoopbackAddress = (a: string | undefined): boolean =>
  a !== undefined && (a === '::1' || a.startsWith('127.') || a.startsWith('::ffff:127.'));

/**
 * How one shutdown deadline is shared: up to `close` for requests in flight to finish, then
 * the flush to Fenra, with `reserve` left for aborting what is still in flight and exiting.
 */
export function shutdownBudget(deadlineMillis: number): { close: number; flush: number; reserve: number } {
  const close = Math.min(2_000, Math.floor(deadlineMillis / 5));
  const reserve = Math.min(1_000, Math.floor(deadlineMillis / 10));
  return { close, flush: Math.max(1, deadlineMillis - close - reserve), reserve };
}

export async function startSidecar(config: ServeConfig, deps: SidecarDeps = {}): Promise<RunningSidecar> {
  const metrics = new Metrics();
  let spool: Spool;
  let disk: DiskSpool | undefined;
  let replay: ReturnType<DiskSpool['load']> | undefined;
  if (config.spoolDir) {
    disk = new DiskSpool(config.spoolDir, config.spoolMaxBytes, deps.spoolFs ? { fs: deps.spoolFs } : {});
    replay = disk.load();
    spool = disk;
  } else spool = new MemorySpool(config.spoolMaxBytes);

  const budget = shutdownBudget(config.shutdownTimeoutMillis);
  const sender = deps.sender ?? fenraSender(config.delivery);
  const pipeline = new DeliveryPipeline(config.delivery, {
    mode: 'serve',
    kept: keptText('serve', config.delivery.maxQueueSize, config.spoolDir !== undefined),
    ...deps.pipeline,
    sender,
    ...(deps.destination === undefined ? {} : { endpoint: deps.destination }),
    flushTimeoutMillis: budget.flush,
  });
  if (deps.onSettled) pipeline.onSettled(deps.onSettled);
  if (config.metricsCustomerLabels) {
    // Spend by customer on /metrics only when asked: a scrape otherwise says nothing of who spent.
    pipeline.onSettled((items, outcome) => {
      if (outcome.kind !== 'accepted') return;
      for (const t of items) {
        if (t.price.usd !== null)
          metrics.add('fenra.otel.cost.estimated_by_customer', t.price.usd, {
            customer: t.context.billable_customer_id,
          });
      }
    });
  }
  const billing = new BillingPath(
    {
      conversion: {
        defaultCustomerId: config.customerId,
        customerIdKeys: config.customerIdKeys,
        contextKeys: config.contextKeys,
        azureDeployments: config.azureDeployments,
        maxTokensPerCall: config.maxTokensPerCall,
      },
      pricer: deps.pricer ?? new PriceBook(),
      waitMillis: config.traceWaitMillis,
      maxTraces: config.maxTraces,
      maxSpansPerTrace: config.maxSpansPerTrace,
      scheduler: deps.scheduler,
      // Refuse while less than one batch of room is left: requests read meanwhile fill it.
      queueLowWater: config.delivery.maxExportBatchSize,
    },
    spool,
    pipeline,
  );
  metrics.observe(() => [
    ...stageReadings(billing.stage),
    ...pipelineReadings(pipeline.stats(), pipeline.usdByModel()),
    { name: 'fenra.otel.spool.bytes', value: spool.bytes() },
    { name: 'fenra.otel.spool.records', value: spool.records() },
    { name: 'fenra.otel.spool.writable', value: spool.problem() === undefined ? 1 : 0 },
    { name: 'fenra.otel.billing.backlog', value: billing.backlog },
  ]);

  if (replay) {
    if (replay.records.length || replay.discarded) {
      log.info(
        `replaying the spool: ${replay.records.length} record(s), ${replay.acked.size} transaction(s) already delivered, ` +
          `${replay.sentByLastRun.size} sent by the last run without an answer (possible duplicates if Fenra took them)` +
          (replay.sent.size > replay.sentByLastRun.size
            ? ` and ${replay.sent.size - replay.sentByLastRun.size} by earlier runs, not sent again since`
            : '') +
          `, ${replay.discarded} torn file(s) discarded`,
      );
    }
    billing.replay(replay.records, replay.acked, replay.sent);
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
  let draining = false;
  const inflight = new ByteBudget(config.maxInflightBytes);
  metrics.observe(() => [{ name: 'fenra.otel.receiver.inflight_bytes', value: inflight.used }]);
  const server = new RouteServer({
    maxConnections: config.maxConnections,
    maxDroppedBytes: maxDroppedBytes(config.maxBodyBytes),
    onConnectionClosed: (why) => metrics.add('fenra.otel.receiver.connections_closed', 1, { why }),
  });
  let refusedLogged = false;
  server.hosts(
    (port) => hostGuard({ host: config.host, port, allowed: config.allowedHosts }),
    (v) => {
      metrics.add('fenra.otel.receiver.requests_refused', 1, { header: v.why });
      if (refusedLogged) return;
      refusedLogged = true;
      log.warn(
        `refused a request with ${v.why === 'host' ? 'Host' : 'Origin'} ${JSON.stringify(v.shown)} (403): ` +
          'not a name of this server; if apps reach it by that name, add it to --allowed-hosts ' +
          '(FENRA_ALLOWED_HOSTS). Further refusals are only counted (fenra_otel_receiver_requests_refused_total)',
      );
    },
  );
  if (config.receiverToken !== undefined) {
    // /metrics needs the token; the other pages (the inspector: customer ids and spend) too,
    // except from this machine (a browser on localhost, `kubectl port-forward`).
    const authorized = bearerChecker(config.receiverToken);
    server.guard((req, path) => {
      if (OPEN_PATHS.has(path)) return true;
      if (!TOKEN_PATHS.has(path) && isLoopbackAddress(req.socket.remoteAddress)) return true;
      return authorized(req.headers.authorization);
    });
  }
  const receiver = new TraceReceiver({
    billing,
    metrics,
    forwarder,
    accepting: () => accepting,
    limits: { maxSpans: config.maxRequestSpans, maxAttributes: config.maxRequestAttributes },
  });
  server.route(
    'POST',
    '/v1/traces',
    otlpTracesHandler({
      maxBodyBytes: config.maxBodyBytes,
      maxDecompressedBytes: config.maxDecompressedBytes,
      budget: inflight,
      bearerToken: config.receiverToken,
      retryAfterSeconds: config.retryAfterSeconds,
      receiver,
      metrics,
    }),
  );
  server.route('GET', '/healthz', (_req, res) => send(res, 200, 'ok\n'));
  server.route('GET', '/readyz', (_req, res) => {
    const problems: string[] = [];
    if (!accepting) problems.push('shutting down');
    else if (draining) problems.push('draining before shutdown');
    const state = pipeline.state;
    if (state === 'unauthorized') problems.push('Fenra rejects the API key');
    else if (state === 'endpoint_rejected') problems.push('the Fenra endpoint is wrong');
    else if (state === 'rejecting_all') problems.push('Fenra refuses every transaction (paused, kept)');
    else if (state === 'disabled') problems.push('no Fenra API key');
    const spoolProblem = spool.problem();
    if (spoolProblem !== undefined) problems.push(spoolProblem);
    else if (billing.isFull()) problems.push('the spool is full');
    if (problems.length) send(res, 503, `not ready: ${problems.join('; ')}\n`);
    else send(res, 200, 'ready\n');
  });
  server.route('GET', '/metrics', (_req, res) =>
    send(res, 200, metrics.render(), 'text/plain; version=0.0.4; charset=utf-8'),
  );

  let address: { host: string; port: number };
  let grpc: OtlpGrpcServer | undefined;
  try {
    address = await server.listen(config.port, config.host);
    if (config.grpcPort !== 0) {
      grpc = await OtlpGrpcServer.listen(
        {
          receiver,
          metrics,
          maxMessageBytes: config.maxDecompressedBytes,
          budget: inflight,
          bearerToken: config.receiverToken,
          retryAfterSeconds: config.retryAfterSeconds,
          accepting: () => accepting,
          maxConnections: config.maxConnections,
          scheduler: deps.scheduler,
        },
        config.grpcPort === 'auto' ? 0 : config.grpcPort,
        config.host,
      ).catch(async (e: unknown) => {
        await server.close(0);
        throw e;
      });
    }
  } catch (e) {
    billing.stop();
    disk?.unlock();
    throw e;
  }
  const grpcAddress = grpc?.address;
  log.info(
    `fenra-otel ${VERSION} serving OTLP/HTTP on http://${address.host}:${address.port}/v1/traces` +
      (grpcAddress ? ` and OTLP/gRPC on ${grpcAddress.host}:${grpcAddress.port}` : '') +
      ` → ${deps.destination ?? displayUrl(config.endpoint)}` +
      (config.spoolDir ? ` (spool ${config.spoolDir})` : ' (no spool: in memory only)') +
      (config.forward ? ` and pass-through to ${displayUrl(config.forward)}` : ''),
  );
  if (!isLoopbackAddress(address.host) && address.host !== 'localhost' && !config.receiverToken) {
    // Without a key (local mode) the inspector is served too, and it shows customers and spend.
    const open =
      `listening on ${address.host} without a receiver token: anyone who can reach port ${address.port}${grpcAddress ? ` or ${grpcAddress.port}` : ''} can send spans` +
      (config.apiKey ? '' : ' and read the inspector (customer ids and spend)') +
      ' and /metrics; set --receiver-token-file or FENRA_RECEIVER_TOKEN to require a token';
    if (config.apiKey) log.info(open);
    else log.warn(open);
  }
  if (sender === undefined)
    log.warn(
      'no Fenra API key (FENRA_API_KEY): nothing is sent to Fenra' +
        (config.spoolDir ? '; the spool keeps what arrives for a start with a key' : ''),
    );

  let closing: Promise<void> | undefined;
  let endDrain: (() => void) | undefined;
  const shutdown = (): Promise<void> => {
    // Called again while draining (a second SIGTERM, Ctrl+C twice): stop now.
    endDrain?.();
    return (closing ??= (async () => {
      if (config.drainMillis > 0) {
        // Apps stopping at the same time still flush to us; readiness already says we are going.
        draining = true;
        log.info(`draining: accepting requests for ${config.drainMillis} ms more before stopping`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, config.drainMillis);
          endDrain = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        endDrain = undefined;
      }
      accepting = false;
      const end = Date.now() + config.shutdownTimeoutMillis;
      const left = (): number => Math.max(0, end - Date.now());
      await Promise.all([
        server.close(Math.min(budget.close, left())),
        grpc?.close(Math.min(budget.close, left())),
      ]);
      billing.flushTraces();
      billing.stop();
      await Promise.all([pipeline.shutdown(), forwarder?.shutdown(Math.max(0, left() - budget.reserve))]);
      await spool.close();
      // What was lost (without a spool to keep it) is a warning, with why.
      const summary = shutdownSummary(pipeline.stats(), spool.records(), pipeline.notices.cause);
      const s = pipeline.stats();
      const lost =
        Object.values(s.dropped).reduce((a, b) => a + b, 0) - s.dropped.no_api_key - s.dropped.disabled;
      if (lost > 0 && config.spoolDir === undefined) log.warn(summary);
      else log.info(summary);
    })());
  };

  return {
    address,
    grpcAddress,
    server,
    metrics,
    stats: () => ({ conversion: billing.stage.stats, delivery: pipeline.stats() }),
    shutdown,
  };
}

/**
 * The last log line: what was delivered, refused, lost (and why: `why`, the cause of the last
 * delivery problem or refusal), possibly duplicated, kept.
 */
export function shutdownSummary(s: PipelineStats, spoolRecords: number, why?: string): string {
  const sum = (r: Record<string, number>): number => Object.values(r).reduce((a, b) => a + b, 0);
  const failed = sum(s.failed);
  const dropped = sum(s.dropped);
  return (
    `stopped: ${s.accepted} transaction(s) accepted, ${failed} rejected` +
    (dropped ? `, ${dropped} not delivered (${dropReasons(s)})` : '') +
    ((dropped || failed) && why !== undefined ? `, last problem: ${why}` : '') +
    (s.possibleDuplicates
      ? `, ${s.possibleDuplicates} possible duplicate(s) (accepted after an answer was lost; their trace_id and span_id identify the copy)`
      : '') +
    (spoolRecords ? `, ${spoolRecords} spool record(s) kept for the next start` : '')
  );
}

function dropReasons(s: PipelineStats): string {
  return Object.entries(s.dropped)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
}
