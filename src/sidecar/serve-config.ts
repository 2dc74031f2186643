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
  /** Largest body after decompression (gzip bombs), bytes. */
  maxDecompressedBytes: number;
  /** Bytes of request bodies (as received and decompressed) held at once, all requests together. */
  maxInflightBytes: number;
  /** Open client connections at once; more are closed as they arrive. */
  maxConnections: number;
  maxQueueSize: number;
  batchSize: number;
  flushIntervalMillis: number;
  requestTimeoutMillis: number;
  /** After SIGTERM/SIGINT, keep accepting requests this long before stopping, ms. */
  drainMillis: number;
  shutdownTimeoutMillis: number;
  retryAfterSeconds: number;
  customerId: string | undefined;
  customerIdKeys: string[] | undefined;
  contextKeys: string[] | undefined;
  azureDeployments: Record<string, string>;
  logLevel: 'error' | 'warn' | 'info' | 'debug';
}

/**
 * Every setting, with its flag, environment variable and default, for --help and the README.
 * Flags and environment variables give sizes in MiB (`kind: 'mb'`); the config file uses the
 * setting's own name and unit: `spoolMaxBytes` in bytes, `traceWaitMillis` in milliseconds.
 */
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
    def: 20,
    kind: 'mb',
  },
  maxInflightBytes: { flag: 'max-inflight-mb', env: 'FENRA_MAX_INFLIGHT_MB', def: 40, kind: 'mb' },
  maxConnections: { flag: 'max-connections', env: 'FENRA_MAX_CONNECTIONS', def: 512, kind: 'int' },
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
  drainMillis: { flag: 'drain-ms', env: 'FENRA_DRAIN_MILLIS', def: 0, kind: 'int0' },
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
type Kind = (typeof SERVE_SETTINGS)[Scalar]['kind'];

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
const MIB = 1024 * 1024;

type Converted = { ok: true; value: unknown } | { ok: false; expected: string };

/** A flag's or an environment variable's text → the setting's value (sizes in MiB). */
function fromText(kind: Kind, s: string): Converted {
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
    case 'int':
    case 'int0': {
      const n = Number(s);
      return /^\d+$/.test(s) && Number.isSafeInteger(n) && (n > 0 || kind === 'int0')
        ? { ok: true, value: n }
        : { ok: false, expected: kind === 'int' ? 'a positive integer' : 'an integer >= 0' };
    }
    case 'mb': {
      const n = Number(s);
      return s !== '' && Number.isFinite(n) && n > 0 && n * MIB < Number.MAX_SAFE_INTEGER
        ? { ok: true, value: Math.max(1, Math.round(n * MIB)) }
        : { ok: false, expected: 'a positive number of MiB' };
    }
    case 'level':
      return LEVELS.has(s) ? { ok: true, value: s } : { ok: false, expected: 'error, warn, info or debug' };
  }
}

/**
 * A config file's JSON value → the setting's value. The file holds JSON types (numbers as
 * numbers, strings as strings) in the unit its key names: `spoolMaxBytes` is bytes.
 */
function fromJson(kind: Kind, v: unknown): Converted {
  switch (kind) {
    case 'string':
    case 'url':
    case 'level':
      return typeof v === 'string' ? fromText(kind, v.trim()) : { ok: false, expected: 'a string' };
    case 'port':
      return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 65535
        ? { ok: true, value: v }
        : { ok: false, expected: 'a port number 0-65535' };
    case 'int':
    case 'int0':
      return typeof v === 'number' && Number.isSafeInteger(v) && (v > 0 || (kind === 'int0' && v === 0))
        ? { ok: true, value: v }
        : { ok: false, expected: kind === 'int' ? 'a positive integer' : 'an integer >= 0' };
    case 'mb':
      return typeof v === 'number' && Number.isSafeInteger(v) && v > 0
        ? { ok: true, value: v }
        : { ok: false, expected: 'a positive integer number of bytes' };
  }
}

const show = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : (JSON.stringify(v) ?? String(v)));

/** A list setting: an array of non-empty strings, or one comma-separated string. */
function list(v: unknown): string[] | undefined | Error {
  if (v === undefined) return undefined;
  if (typeof v === 'string')
    return v
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
  if (Array.isArray(v) && v.every((x) => typeof x === 'string' && x.trim() !== ''))
    return (v as string[]).map((x) => x.trim());
  return new Error('expected a list of non-empty strings');
}

/** An object of string values (`azureDeployments`, `forwardHeaders` in the config file). */
function stringMap(v: unknown): Record<string, string> | Error {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return new Error('expected an object');
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (typeof x !== 'string' || k === '')
      return new Error(`expected string values, got ${show(x)} for '${k}'`);
    out[k] = x;
  }
  return out;
}

/** `k=v,k2=v2` with percent-encoded keys and values (the OTEL_EXPORTER_OTLP_HEADERS format). */
function parseHeaderList(text: string): Record<string, string> | Error {
  const out: Record<string, string> = {};
  for (const part of text.split(',')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) return new Error(`expected key=value pairs separated by commas, got '${part.trim()}'`);
    let key: string;
    let value: string;
    try {
      key = decodeURIComponent(part.slice(0, eq).trim());
      value = decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      return new Error(`invalid percent-encoding in '${part.trim()}'`);
    }
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(key)) return new Error(`'${key}' is not a header name`);
    out[key] = value;
  }
  return out;
}

/** Keys the config file accepts besides {@link SERVE_SETTINGS}. */
const OTHER_FILE_KEYS = [
  'apiKey',
  'receiverToken',
  'customerIdKeys',
  'contextKeys',
  'azureDeployments',
  'forwardHeaders',
] as const;

/** Merges the inputs; `problems` are fatal configuration errors (the CLI prints them and exits 2). */
export function resolveServeConfig(inputs: ServeInputs): { config: ServeConfig; problems: string[] } {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  const file = inputs.file ?? {};
  for (const [name, s] of Object.entries(SERVE_SETTINGS) as [Scalar, (typeof SERVE_SETTINGS)[Scalar]][]) {
    const flag = inputs.flags[s.flag];
    const env = inputs.env[s.env]?.trim() || undefined;
    let value: unknown = s.def === undefined ? undefined : s.kind === 'mb' ? (s.def as number) * MIB : s.def;
    let c: Converted | undefined;
    let where = '';
    if (typeof flag === 'string') [c, where] = [fromText(s.kind, flag.trim()), `--${s.flag}`];
    else if (env !== undefined) [c, where] = [fromText(s.kind, env), s.env];
    else if (file[name] !== undefined) [c, where] = [fromJson(s.kind, file[name]), `config file '${name}'`];
    if (c?.ok) value = c.value;
    else if (c) {
      const raw = where.startsWith('--') ? flag : where === s.env ? env : file[name];
      problems.push(`${where}: expected ${c.expected}, got ${show(raw)}`);
    }
    out[name] = value;
  }

  const fileString = (key: 'apiKey' | 'receiverToken'): string | undefined => {
    const v = file[key];
    if (v === undefined) return undefined;
    if (typeof v === 'string' && v.trim() !== '') return v.trim();
    // Never echo a secret back, only its type.
    problems.push(`config file '${key}': expected a non-empty string, got ${v === null ? 'null' : typeof v}`);
    return undefined;
  };
  const env = readEnvConfig(inputs.env);
  const fileApiKey = fileString('apiKey');
  const fileToken = fileString('receiverToken');
  const apiKey = inputs.apiKeyFromFile?.trim() || env.config.apiKey || fileApiKey;
  const receiverToken =
    inputs.receiverTokenFromFile?.trim() || inputs.env['FENRA_RECEIVER_TOKEN']?.trim() || fileToken;

  const fileList = (key: 'customerIdKeys' | 'contextKeys'): string[] | undefined => {
    const l = list(file[key]);
    if (l instanceof Error) {
      problems.push(`config file '${key}': ${l.message}, got ${show(file[key])}`);
      return undefined;
    }
    return l;
  };
  const flagList = (flag: string): string[] | undefined => {
    const l = list(inputs.flags[flag]);
    return l instanceof Error ? undefined : l;
  };
  const envList = (name: string): string[] | undefined => {
    const l = list(inputs.env[name]?.trim() || undefined);
    return l instanceof Error ? undefined : l;
  };
  const customerIdKeysFromFile = fileList('customerIdKeys');
  const contextKeysFromFile = fileList('contextKeys');

  const azureDeployments: Record<string, string> = {};
  if (file['azureDeployments'] !== undefined) {
    const m = stringMap(file['azureDeployments']);
    if (m instanceof Error) problems.push(`config file 'azureDeployments': ${m.message}`);
    else Object.assign(azureDeployments, m);
  }
  for (const pair of flagList('azure-deployment') ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0 || eq === pair.length - 1)
      problems.push(`--azure-deployment takes DEPLOYMENT=MODEL, got '${pair}'`);
    else azureDeployments[pair.slice(0, eq)] = pair.slice(eq + 1);
  }

  let forwardHeaders: Record<string, string> = {};
  const envHeaders = inputs.env['FENRA_FORWARD_HEADERS'];
  const fileHeaders = file['forwardHeaders'];
  if (envHeaders !== undefined && envHeaders.trim() !== '') {
    const h = parseHeaderList(envHeaders);
    if (h instanceof Error) problems.push(`FENRA_FORWARD_HEADERS: ${h.message}`);
    else forwardHeaders = h;
  } else if (fileHeaders !== undefined) {
    const h = typeof fileHeaders === 'string' ? parseHeaderList(fileHeaders) : stringMap(fileHeaders);
    if (h instanceof Error) problems.push(`config file 'forwardHeaders': ${h.message}`);
    else forwardHeaders = h;
  }

  const config: ServeConfig = {
    ...(out as Omit<
      ServeConfig,
      'apiKey' | 'receiverToken' | 'customerIdKeys' | 'contextKeys' | 'azureDeployments' | 'forwardHeaders'
    >),
    apiKey,
    receiverToken: receiverToken || undefined,
    customerIdKeys: flagList('customer-id-key') ?? env.config.customerIdKeys ?? customerIdKeysFromFile,
    contextKeys: flagList('context-key') ?? envList('FENRA_CONTEXT_KEYS') ?? contextKeysFromFile,
    azureDeployments,
    forwardHeaders,
  };
  if (config.maxDecompressedBytes > config.maxInflightBytes) {
    problems.push(
      `the largest request (--max-decompressed-mb, ${mib(config.maxDecompressedBytes)} MiB) must fit in ` +
        `--max-inflight-mb (${mib(config.maxInflightBytes)} MiB), or it could never be accepted`,
    );
  }

  const known = new Set<string>([...Object.keys(SERVE_SETTINGS), ...OTHER_FILE_KEYS]);
  for (const k of Object.keys(file)) {
    if (known.has(k)) continue;
    // `spoolMaxMb` (the flag's unit) → `spoolMaxBytes`; `traceWaitMs` → `traceWaitMillis`.
    const guess = [k.replace(/Mb$/, 'Bytes'), k.replace(/Ms$/, 'Millis'), k.replace(/S$/, 'Seconds')].find(
      (g) => g !== k && known.has(g),
    );
    problems.push(
      `config file: unknown setting '${k}'` +
        (guess ? ` (did you mean '${guess}'${guess.endsWith('Bytes') ? ', in bytes' : ''}?)` : ''),
    );
  }
  return { config, problems };
}

const mib = (bytes: number): string => String(Math.round((bytes / MIB) * 100) / 100);
