import { readEnvConfig } from '../config/env.js';
import type { EnvSource } from '../config/env.js';
import { DEFAULTS } from '../config/options.js';

/**
 * The sidecar's settings, merged from flags, then `FENRA_*` environment variables, then a
 * JSON config file, then defaults. Pure: the caller reads the file and passes its contents.
 */
export interface ServeConfig {
  host: string;
  port: number;
  endpoint: string;
  apiKey: string | undefined;
  spoolDir: string | undefined;
  spoolMaxBytes: number;
  forward: string | undefined;
  forwardHeaders: Record<string, string>;
  receiverToken: string | undefined;
  traceWaitMillis: number;
  maxTraces: number;
  maxSpansPerTrace: number;
  maxBodyBytes: number;
  maxDecompressedBytes: number;
  maxQueueSize: number;
  batchSize: number;
  flushIntervalMillis: number;
  requestTimeoutMillis: number;
  shutdownTimeoutMillis: number;
  retryAfterSeconds: number;
  customerId: string | undefined;
  customerIdKeys: string[] | undefined;
  contextKeys: string[] | undefined;
  azureDeployments: Record<string, string>;
  logLevel: 'error' | 'warn' | 'info' | 'debug';
}

/** Every setting, with its flag, environment variable and default, for --help and the README. */
export const SERVE_SETTINGS = {
  host: { flag: 'host', env: 'FENRA_SERVE_HOST', def: '127.0.0.1', kind: 'string' },
  port: { flag: 'port', env: 'FENRA_SERVE_PORT', def: 4318, kind: 'port' },
  endpoint: { flag: 'endpoint', env: 'FENRA_ENDPOINT', def: DEFAULTS.endpoint, kind: 'url' },
  spoolDir: { flag: 'spool-dir', env: 'FENRA_SPOOL_DIR', def: undefined, kind: 'string' },
  spoolMaxBytes: { flag: 'spool-max-mb', env: 'FENRA_SPOOL_MAX_MB', def: 512, kind: 'mb' },
  forward: { flag: 'forward', env: 'FENRA_FORWARD_URL', def: undefined, kind: 'url' },
  traceWaitMillis: { flag: 'trace-wait-ms', env: 'FENRA_TRACE_WAIT_MILLIS', def: 10_000, kind: 'int' },
  maxTraces: { flag: 'max-traces', env: 'FENRA_MAX_TRACES', def: 10_000, kind: 'int' },
  maxSpansPerTrace: {
    flag: 'max-spans-per-trace',
    env: 'FENRA_MAX_SPANS_PER_TRACE',
    def: 1_000,
    kind: 'int',
  },
  maxBodyBytes: { flag: 'max-body-mb', env: 'FENRA_MAX_BODY_MB', def: 20, kind: 'mb' },
  maxDecompressedBytes: {
    flag: 'max-decompressed-mb',
    env: 'FENRA_MAX_DECOMPRESSED_MB',
    def: 100,
    kind: 'mb',
  },
  maxQueueSize: { flag: 'max-queue', env: 'FENRA_MAX_QUEUE_SIZE', def: 20_000, kind: 'int' },
  batchSize: {
    flag: 'batch-size',
    env: 'FENRA_MAX_EXPORT_BATCH_SIZE',
    def: DEFAULTS.maxExportBatchSize,
    kind: 'int',
  },
  flushIntervalMillis: { flag: 'flush-ms', env: 'FENRA_SCHEDULED_DELAY_MILLIS', def: 1_000, kind: 'int' },
  requestTimeoutMillis: {
    flag: 'request-timeout-ms',
    env: 'FENRA_REQUEST_TIMEOUT_MILLIS',
    def: DEFAULTS.requestTimeoutMillis,
    kind: 'int',
  },
  shutdownTimeoutMillis: {
    flag: 'shutdown-timeout-ms',
    env: 'FENRA_SHUTDOWN_TIMEOUT_MILLIS',
    def: 10_000,
    kind: 'int',
  },
  retryAfterSeconds: { flag: 'retry-after-s', env: 'FENRA_RETRY_AFTER_SECONDS', def: 5, kind: 'int' },
  customerId: { flag: 'customer-id', env: 'FENRA_BILLABLE_CUSTOMER_ID', def: undefined, kind: 'string' },
  logLevel: { flag: 'log-level', env: 'FENRA_LOG_LEVEL', def: 'info', kind: 'level' },
} as const;

type Scalar = keyof typeof SERVE_SETTINGS;

export interface ServeInputs {
  /** Parsed flags (node:util parseArgs values). */
  flags: Record<string, string | boolean | string[] | undefined>;
  env: EnvSource;
  /** The config file's JSON object (keys as in {@link ServeConfig}), if any. */
  file?: Record<string, unknown> | undefined;
  /** Contents of --api-key-file / --receiver-token-file, already read. */
  apiKeyFromFile?: string | undefined;
  receiverTokenFromFile?: string | undefined;
}

const LEVELS = new Set(['error', 'warn', 'info', 'debug']);

function convert(kind: string, raw: unknown): { ok: true; value: unknown } | { ok: false; expected: string } {
  const s = typeof raw === 'number' ? String(raw) : typeof raw === 'string' ? raw.trim() : undefined;
  if (s === undefined) return { ok: false, expected: 'a string or number' };
  switch (kind) {
    case 'string':
      return s ? { ok: true, value: s } : { ok: false, expected: 'a non-empty value' };
    case 'url':
      try {
        const u = new URL(s);
        if (u.protocol === 'http:' || u.protocol === 'https:') return { ok: true, value: s };
      } catch {
        // below
      }
      return { ok: false, expected: 'an http(s) URL' };
    case 'port': {
      const n = Number(s);
      return /^\d+$/.test(s) && n <= 65535
        ? { ok: true, value: n }
        : { ok: false, expected: 'a port number 0-65535' };
    }
    case 'int': {
      const n = Number(s);
      return /^\d+$/.test(s) && n > 0 && Number.isSafeInteger(n)
        ? { ok: true, value: n }
        : { ok: false, expected: 'a positive integer' };
    }
    case 'mb': {
      const n = Number(s);
      return Number.isFinite(n) && n > 0
        ? { ok: true, value: Math.round(n * 1024 * 1024) }
        : { ok: false, expected: 'a positive number of MiB' };
    }
    case 'level':
      return LEVELS.has(s) ? { ok: true, value: s } : { ok: false, expected: 'error, warn, info or debug' };
    default:
      return { ok: false, expected: kind };
  }
}

function list(v: unknown): string[] | undefined {
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string' && x !== '');
  if (typeof v === 'string' && v.trim())
    return v
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
  return undefined;
}

/** Merges the inputs; `problems` are fatal configuration errors (the CLI prints them and exits 2). */
export function resolveServeConfig(inputs: ServeInputs): { config: ServeConfig; problems: string[] } {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  const file = inputs.file ?? {};
  for (const [name, s] of Object.entries(SERVE_SETTINGS) as [Scalar, (typeof SERVE_SETTINGS)[Scalar]][]) {
    const sources: [string, unknown][] = [
      [`--${s.flag}`, inputs.flags[s.flag]],
      [s.env, inputs.env[s.env]?.trim() || undefined],
      [`config file '${name}'`, file[name]],
    ];
    let value: unknown =
      s.def === undefined ? undefined : s.kind === 'mb' ? (s.def as number) * 1024 * 1024 : s.def;
    for (const [where, raw] of sources) {
      if (raw === undefined) continue;
      const c = convert(s.kind, raw);
      if (c.ok) value = c.value;
      else problems.push(`${where}: expected ${c.expected}, got '${String(raw)}'`);
      break;
    }
    out[name] = value;
  }
  const env = readEnvConfig(inputs.env);
  const apiKey =
    inputs.apiKeyFromFile?.trim() ||
    env.config.apiKey ||
    (typeof file['apiKey'] === 'string' ? file['apiKey'] : undefined);
  const receiverToken =
    inputs.receiverTokenFromFile?.trim() ||
    inputs.env['FENRA_RECEIVER_TOKEN']?.trim() ||
    (typeof file['receiverToken'] === 'string' ? file['receiverToken'] : undefined);

  const azureDeployments: Record<string, string> = {};
  const pairs = list(inputs.flags['azure-deployment']) ?? [];
  const fromFile = file['azureDeployments'];
  if (fromFile && typeof fromFile === 'object' && !Array.isArray(fromFile)) {
    for (const [k, v] of Object.entries(fromFile)) if (typeof v === 'string') azureDeployments[k] = v;
  }
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0 || eq === pair.length - 1)
      problems.push(`--azure-deployment takes DEPLOYMENT=MODEL, got '${pair}'`);
    else azureDeployments[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const forwardHeaders: Record<string, string> = {};
  const fh =
    inputs.env['FENRA_FORWARD_HEADERS'] ??
    (typeof file['forwardHeaders'] === 'string' ? file['forwardHeaders'] : undefined);
  for (const part of (fh ?? '').split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0)
      forwardHeaders[decodeURIComponent(part.slice(0, eq).trim())] = decodeURIComponent(
        part.slice(eq + 1).trim(),
      );
  }

  const config: ServeConfig = {
    ...(out as Omit<
      ServeConfig,
      'apiKey' | 'receiverToken' | 'customerIdKeys' | 'contextKeys' | 'azureDeployments' | 'forwardHeaders'
    >),
    apiKey,
    receiverToken: receiverToken || undefined,
    customerIdKeys:
      list(inputs.flags['customer-id-key']) ?? env.config.customerIdKeys ?? list(file['customerIdKeys']),
    contextKeys:
      list(inputs.flags['context-key']) ??
      list(inputs.env['FENRA_CONTEXT_KEYS']) ??
      list(file['contextKeys']),
    azureDeployments,
    forwardHeaders,
  };
  const known = new Set([
    ...Object.keys(SERVE_SETTINGS),
    'apiKey',
    'receiverToken',
    'customerIdKeys',
    'contextKeys',
    'azureDeployments',
    'forwardHeaders',
  ]);
  for (const k of Object.keys(file)) if (!known.has(k)) problems.push(`config file: unknown setting '${k}'`);
  return { config, problems };
}
