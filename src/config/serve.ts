import { resolve } from 'node:path';
import { displayUrl } from '../internal/display-url.js';
import type { DeliveryConfig } from '../pipeline/delivery-config.js';
import type { EnvSource } from './env.js';
import { envText } from './env.js';
import type { Source } from './names.js';
import { settingName, sourceName } from './names.js';
import type { Parsed } from './values.js';
import { parseJson, parsePairs, parseText, show } from './values.js';
import type { Setting } from './setting.js';
import { defaultIn, MIB } from './setting.js';
import type { SettingId } from './settings.js';
import { SETTINGS, settingsOf } from './settings.js';

/**
 * `fenra-otel serve`'s settings, merged from flags, then environment variables, then the
 * `--config` JSON file, then the defaults, all from the one setting table. Pure: the caller
 * reads the files and passes their contents. Every problem is fatal (the CLI prints them and
 * exits 2); a malformed URL is one like any other, never a fallback.
 */
export interface ServeConfig {
  host: string;
  port: number;
  /** OTLP/gRPC port on the same host: 0 turns it off, `'auto'` picks a free one. */
  grpcPort: number | 'auto';
  endpoint: string;
  apiKey: string | undefined;
  spoolDir: string | undefined;
  spoolMaxBytes: number;
  forward: string | undefined;
  forwardHeaders: Record<string, string>;
  receiverToken: string | undefined;
  /**
   * Host names requests may address this server by (Host and Origin headers), with or without a
   * port, `*` for any; undefined: loopback names, and the host listened on when it is not a
   * wildcard. Against DNS rebinding.
   */
  allowedHosts: string[] | undefined;
  /** Keep the customer label on /metrics (spend by customer). Default false. */
  metricsCustomerLabels: boolean;
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
  /** Spans in one request; past it the request is refused (413) before it is decoded. */
  maxRequestSpans: number;
  /** Attributes in one request (every level, nested values included); past it, 413 before decoding. */
  maxRequestAttributes: number;
  maxQueueSize: number;
  batchSize: number;
  flushIntervalMillis: number;
  requestTimeoutMillis: number;
  /** Retry budget of one batch, ms (default 30000, or the request timeout if larger). */
  exportTimeoutMillis: number;
  /** After SIGTERM/SIGINT, keep accepting requests this long before stopping, ms. */
  drainMillis: number;
  shutdownTimeoutMillis: number;
  retryAfterSeconds: number;
  customerId: string | undefined;
  customerIdKeys: string[] | undefined;
  contextKeys: string[] | undefined;
  azureDeployments: Record<string, string>;
  /** Largest token count one call may state; above it the call is `invalid_usage`. */
  maxTokensPerCall: number;
  logLevel: 'error' | 'warn' | 'info' | 'debug';
  /** The local sink's directory (local mode), absolute. */
  dataDir: string;
  demo: boolean;
  /** What the delivery pipeline runs with (the settings above, as it names them). */
  delivery: DeliveryConfig;
}

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

export interface ServeResolution {
  config: ServeConfig;
  /** Fatal: the CLI prints each and exits 2. */
  problems: string[];
  /** A value adjusted (logged once the logger is set up). */
  warnings: string[];
}

/** The data directory: `--data-dir`, else `FENRA_DATA_DIR`, else `.fenra`, from the working directory. */
export function resolveDataDir(flag: string | undefined, env: EnvSource): string {
  const s = SETTINGS.dataDir;
  return resolve(flag?.trim() || envText(env, s.env[0]) || s.default);
}

/** `node:util` parseArgs options for every `serve` flag that is a setting. */
export function serveFlagOptions(): Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> {
  const out: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = {};
  for (const [, s] of settingsOf('serve')) {
    if (s.flag === undefined) continue;
    out[s.flag] =
      s.arg === undefined
        ? { type: 'boolean' }
        : { type: 'string', ...(s.repeatable ? { multiple: true } : {}) };
  }
  return out;
}

const mib = (bytes: number): string => String(Math.round((bytes / MIB) * 100) / 100);

/** Merges the inputs; `problems` are fatal configuration errors. */
export function resolveServeConfig(inputs: ServeInputs): ServeResolution {
  const problems: string[] = [];
  const warnings: string[] = [];
  const file = inputs.file ?? {};
  const out: Record<string, unknown> = {};
  const sources: Partial<Record<SettingId, Source>> = {};
  const secretsFromFiles: Partial<Record<SettingId, string | undefined>> = {
    apiKey: inputs.apiKeyFromFile,
    receiverToken: inputs.receiverTokenFromFile,
  };

  const refused = (where: string, p: Parsed & { ok: false }, raw: unknown, secret: boolean): void => {
    if (p.reason !== undefined) problems.push(p.reason.startsWith('--') ? p.reason : `${where}: ${p.reason}`);
    // Never echo a secret back, only its type.
    else if (secret)
      problems.push(`${where}: expected ${p.expected}, got ${raw === null ? 'null' : typeof raw}`);
    else problems.push(`${where}: expected ${p.expected}, got ${show(raw)}`);
  };

  for (const [id, s] of settingsOf('serve') as [SettingId, Setting][]) {
    const field = s.file ?? id;
    // A flag naming a file (`--api-key-file`) was read by the caller: its text is in `…FromFile`.
    const flag = s.flag === undefined || s.flagReadsFile ? undefined : inputs.flags[s.flag];
    const variable = s.env?.[0];
    const envValue = variable === undefined ? undefined : envText(inputs.env, variable);
    const fileValue = s.file === undefined ? undefined : file[s.file];
    const secret = s.kind === 'secret';
    let value: unknown = defaultIn(s, 'serve');
    let source: Source = { from: 'default' };
    const take = (p: Parsed, src: Source, where: string, raw: unknown): void => {
      if (p.ok) [value, source] = [p.value, src];
      // A URL may carry credentials: shown without them.
      else refused(where, p, s.kind === 'url' && typeof raw === 'string' ? displayUrl(raw) : raw, secret);
    };

    if (s.kind === 'map') {
      // The file's pairs, then each flag's (a flag wins for its key).
      const merged: Record<string, string> = {};
      if (fileValue !== undefined) {
        const p = parseJson('map', fileValue);
        if (p.ok) Object.assign(merged, p.value);
        else refused(`config file '${s.file}'`, p, fileValue, false);
      }
      if (Array.isArray(flag)) {
        const p = parsePairs(flag, `--${s.flag}`, 'DEPLOYMENT=MODEL');
        if (p.ok) Object.assign(merged, p.value);
        else refused(`--${s.flag}`, p, flag, false);
      }
      out[field] = merged;
      continue;
    }

    const fromFlagFile = secretsFromFiles[id]?.trim();
    if (fromFlagFile) [value, source] = [fromFlagFile, { from: 'flag', name: s.flag! }];
    else if (typeof flag === 'string')
      take(parseText(s.kind, flag.trim()), { from: 'flag', name: s.flag! }, `--${s.flag}`, flag);
    else if (Array.isArray(flag))
      take(parseJson(s.kind, flag), { from: 'flag', name: s.flag! }, `--${s.flag}`, flag);
    else if (typeof flag === 'boolean' && s.kind === 'bool')
      [value, source] = [flag, { from: 'flag', name: s.flag! }];
    else if (envValue !== undefined)
      take(parseText(s.kind, envValue), { from: 'env', name: variable! }, variable!, envValue);
    else if (fileValue !== undefined)
      take(
        parseJson(s.kind, fileValue),
        { from: 'file', name: s.file! },
        `config file '${s.file}'`,
        fileValue,
      );
    out[field] = value;
    sources[id] = source;
  }

  const config = out as Omit<ServeConfig, 'delivery'> & { delivery?: DeliveryConfig };
  config.forwardHeaders ??= {};
  config.dataDir = resolve(config.dataDir);
  if (sources.exportTimeoutMillis?.from === 'default')
    config.exportTimeoutMillis = Math.max(config.exportTimeoutMillis, config.requestTimeoutMillis);
  if (config.batchSize > config.maxQueueSize) {
    const batch = sourceName(sources.maxExportBatchSize!, SETTINGS.maxExportBatchSize, 'serve');
    const queue = sourceName(sources.maxQueueSize!, SETTINGS.maxQueueSize, 'serve');
    warnings.push(
      `${batch} (${config.batchSize}) is larger than ${queue} (${config.maxQueueSize}); using ${config.maxQueueSize}`,
    );
    config.batchSize = config.maxQueueSize;
  }
  if (config.grpcPort === config.port && config.port !== 0) {
    problems.push(
      `--grpc-port and --port are both ${config.port}: give OTLP/gRPC its own port (0 turns it off)`,
    );
  }
  if (config.maxDecompressedBytes > config.maxInflightBytes) {
    problems.push(
      `the largest request (--max-decompressed-mb, ${mib(config.maxDecompressedBytes)} MiB) must fit in ` +
        `--max-inflight-mb (${mib(config.maxInflightBytes)} MiB), or it could never be accepted`,
    );
  }
  problems.push(...unknownFileKeys(file));

  config.delivery = {
    endpoint: config.endpoint,
    apiKey: config.apiKey,
    disabled: false,
    maxExportBatchSize: config.batchSize,
    scheduledDelayMillis: config.flushIntervalMillis,
    maxQueueSize: config.maxQueueSize,
    exportTimeoutMillis: config.exportTimeoutMillis,
    requestTimeoutMillis: config.requestTimeoutMillis,
    concurrencyLimit: defaultIn(SETTINGS.concurrencyLimit, 'serve') as number,
    settingNames: {
      apiKey: settingName(SETTINGS.apiKey, 'serve'),
      endpoint: settingName(SETTINGS.endpoint, 'serve'),
      maxQueueSize: settingName(SETTINGS.maxQueueSize, 'serve'),
      exportTimeoutMillis: settingName(SETTINGS.exportTimeoutMillis, 'serve'),
    },
  };
  return { config: config as ServeConfig, problems, warnings };
}

/** Keys of the config file that are no setting, with a guess for the usual slips. */
function unknownFileKeys(file: Record<string, unknown>): string[] {
  const known = new Set(settingsOf('serve').flatMap(([, s]) => (s.file === undefined ? [] : [s.file])));
  const problems: string[] = [];
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
  return problems;
}
