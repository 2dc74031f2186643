import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { diag, DiagLogLevel } from '@opentelemetry/api';
import { jsonDiagLogger } from '../sidecar/json-logger.js';
import type { ServeConfig } from '../sidecar/serve-config.js';
import { resolveServeConfig } from '../sidecar/serve-config.js';
import { prepareServeExtras } from '../local/local-mode.js';
import type { RunningSidecar } from '../sidecar/sidecar.js';
import { startSidecar } from '../sidecar/sidecar.js';
import type { CliStreams } from './convert.js';

export const SERVE_HELP = `Usage: fenra-otel serve [options]

Runs an OTLP/HTTP receiver. Point any OpenTelemetry SDK or Collector at it
(OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318): it reads the LLM spans, waits
for each trace's root span to learn the customer, prices every provider call and
sends the transactions to Fenra. Other spans are not kept (see --forward).

With no API key it runs in LOCAL MODE: transactions are written to
<data dir>/transactions.jsonl instead (see them at http://127.0.0.1:4318/ or with
'fenra-otel report').

Local mode and the inspector:
  --data-dir DIR            local sink directory ($FENRA_DATA_DIR, default .fenra)
  --demo                    replay the bundled recorded GenAI traces through the OTLP
                            exporter once started, so something is billed at once

Receiver:
  --host HOST               interface to listen on ($FENRA_SERVE_HOST, default 127.0.0.1;
                            use 0.0.0.0 in a container)
  --port PORT               port ($FENRA_SERVE_PORT, default 4318; 0 picks a free one)
  --receiver-token-file F   require 'Authorization: Bearer <token>', token read from F
                            (or $FENRA_RECEIVER_TOKEN)
  --max-body-mb N           largest request body on the wire (default 20) → 413
  --max-decompressed-mb N   largest body once decompressed (default 20) → 413
  --max-inflight-mb N       request bodies held at once, all requests together, as
                            received plus decompressed (default 40); past it → 429 +
                            Retry-After. Peak memory is about 100 MB + 5-6x this for
                            JSON bodies (decoded spans; less for protobuf)
  --max-connections N       open client connections (default 512); more are closed

Fenra:
  --endpoint URL            ingest URL ($FENRA_ENDPOINT,
                            default https://ingest.fenra.io/usage/transactions)
  --api-key-file F          read the API key from F (default: $FENRA_API_KEY)
  --batch-size N            transactions per request ($FENRA_MAX_EXPORT_BATCH_SIZE, 100)
  --flush-ms N              longest wait before a partial batch is sent (default 1000)
  --max-queue N             transactions queued in memory (default 20000); when full,
                            the receiver answers 429 + Retry-After
  --request-timeout-ms N    one request to Fenra (default 10000)

Durability:
  --spool-dir DIR           keep everything that matters for billing on disk (fsync'ed
                            before the request is acknowledged) until Fenra accepted it;
                            replayed on restart. Without it, data lives in memory only.
  --spool-max-mb N          spool size bound (default 512); when full → 503 + Retry-After
  --retry-after-s N         Retry-After sent with 429/503 (default 5)
  --drain-ms N              SIGTERM/SIGINT: keep accepting for N ms first, not ready
                            (default 0), so an app stopping at the same time can flush
  --shutdown-timeout-ms N   then: stop accepting, deliver, exit, all within N ms
                            (default 10000); what is left stays in the spool

Trace assembly:
  --trace-wait-ms N         how long to hold LLM spans for their root span (default 10000)
  --max-traces N            traces held at once (default 10000; the oldest resolves early)
  --max-spans-per-trace N   spans held per trace (default 1000)

Attribution (as in 'convert'):
  --customer-id ID          customer for calls with none ($FENRA_BILLABLE_CUSTOMER_ID)
  --customer-id-key KEY     attribute holding the customer id (repeatable)
  --context-key KEY         extra attribute copied into the context (repeatable)
  --azure-deployment D=M    Azure OpenAI deployment D runs model M (repeatable)

Pass-through and the rest:
  --forward URL             also send every request, unchanged, to this OTLP/HTTP URL
                            (e.g. http://collector:4318/v1/traces); extra headers from
                            $FENRA_FORWARD_HEADERS (k=v,k2=v2, percent-encoded). Bodies
                            waiting to be forwarded are held in memory only (up to
                            64 MiB, then dropped and counted), never spooled
  --config FILE             JSON file with any of the settings above, named as in
                            the README (e.g. {"spoolDir": "/var/lib/fenra",
                            "traceWaitMillis": 5000, "spoolMaxBytes": 536870912}):
                            sizes in bytes, times in ms; a wrong type is an error.
                            Flags beat environment variables, which beat the file
  --log-level LEVEL         error|warn|info|debug ($FENRA_LOG_LEVEL, default info);
                            logs are JSON lines on stderr; the start-up banner (where
                            to point apps, local mode) is plain text on stdout
  -h, --help                this help

Endpoints: POST /v1/traces (protobuf or JSON, gzip or not), GET / (inspector page),
GET /inspector/summary.json, GET /healthz, GET /readyz, GET /metrics (Prometheus).
`;

export interface ServeIo extends CliStreams {
  /** Called once the server listens (tests, embedding). */
  onReady?: (sidecar: RunningSidecar) => void;
  /** Aborting it shuts the server down like SIGTERM does. */
  stop?: AbortSignal;
  /** Install SIGTERM/SIGINT handlers (default true). */
  handleSignals?: boolean;
}

const LEVEL: Record<ServeConfig['logLevel'], DiagLogLevel> = {
  error: DiagLogLevel.ERROR,
  warn: DiagLogLevel.WARN,
  info: DiagLogLevel.INFO,
  debug: DiagLogLevel.DEBUG,
};

function readSecret(path: string | undefined, what: string): string | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (e) {
    throw new Error(
      `cannot read the ${what} file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
}

/** `fenra-otel serve`: resolves with the exit code once the server has stopped. */
export async function runServe(argv: string[], io: ServeIo): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      allowPositionals: false,
      options: {
        host: { type: 'string' },
        port: { type: 'string' },
        endpoint: { type: 'string' },
        'api-key-file': { type: 'string' },
        'receiver-token-file': { type: 'string' },
        'spool-dir': { type: 'string' },
        'spool-max-mb': { type: 'string' },
        forward: { type: 'string' },
        'trace-wait-ms': { type: 'string' },
        'max-traces': { type: 'string' },
        'max-spans-per-trace': { type: 'string' },
        'max-body-mb': { type: 'string' },
        'max-decompressed-mb': { type: 'string' },
        'max-inflight-mb': { type: 'string' },
        'max-connections': { type: 'string' },
        'drain-ms': { type: 'string' },
        'max-queue': { type: 'string' },
        'batch-size': { type: 'string' },
        'flush-ms': { type: 'string' },
        'request-timeout-ms': { type: 'string' },
        'shutdown-timeout-ms': { type: 'string' },
        'retry-after-s': { type: 'string' },
        'customer-id': { type: 'string' },
        'customer-id-key': { type: 'string', multiple: true },
        'context-key': { type: 'string', multiple: true },
        'azure-deployment': { type: 'string', multiple: true },
        config: { type: 'string' },
        'log-level': { type: 'string' },
        'data-dir': { type: 'string' },
        demo: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    io.stderr.write(
      `fenra-otel serve: ${(e as Error).message}\n\nRun 'fenra-otel serve --help' for the options.\n`,
    );
    return 2;
  }
  if (values.help) {
    io.stdout.write(SERVE_HELP);
    return 0;
  }
  const env = io.env ?? process.env;
  let file: Record<string, unknown> | undefined;
  let apiKeyFromFile: string | undefined;
  let receiverTokenFromFile: string | undefined;
  try {
    if (values.config !== undefined) {
      const parsed = JSON.parse(readFileSync(values.config, 'utf8')) as unknown;
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
        throw new Error(`${values.config} must hold a JSON object`);
      file = parsed as Record<string, unknown>;
    }
    apiKeyFromFile = readSecret(values['api-key-file'], 'API key');
    receiverTokenFromFile = readSecret(values['receiver-token-file'], 'receiver token');
  } catch (e) {
    io.stderr.write(`fenra-otel serve: ${(e as Error).message}\n`);
    return 2;
  }
  const { config, problems } = resolveServeConfig({
    flags: values,
    env,
    file,
    apiKeyFromFile,
    receiverTokenFromFile,
  });
  if (problems.length) {
    for (const p of problems) io.stderr.write(`fenra-otel serve: ${p}\n`);
    return 2;
  }

  diag.setLogger(jsonDiagLogger(io.stderr), {
    logLevel: LEVEL[config.logLevel],
    suppressOverrideMessage: true,
  });
  let sidecar: RunningSidecar;
  let extras;
  try {
    extras = await prepareServeExtras({
      config,
      dataDir: values['data-dir'],
      demo: values.demo === true,
      env,
      stdout: io.stdout,
    });
    sidecar = await startSidecar(config, extras.deps);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    io.stderr.write(
      `fenra-otel serve: cannot start: ${err.code === 'EADDRINUSE' ? `${config.host}:${config.port} is already in use` : err.message}\n`,
    );
    return 1;
  }
  extras.afterStart(sidecar);
  io.onReady?.(sidecar);

  await new Promise<void>((resolve) => {
    let stopping: Promise<void> | undefined;
    const stop = (): void => {
      if (stopping) {
        // A second signal ends the drain (--drain-ms) at once.
        void sidecar.shutdown();
        return;
      }
      io.stop?.removeEventListener('abort', stop);
      stopping = extras
        .stop()
        .then(() => sidecar.shutdown())
        .finally(() => {
          process.off('SIGTERM', stop);
          process.off('SIGINT', stop);
        });
      stopping.then(resolve, resolve);
    };
    if (io.handleSignals !== false) {
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    }
    if (io.stop?.aborted) stop();
    else io.stop?.addEventListener('abort', stop, { once: true });
  });
  diag.disable();
  return 0;
}
