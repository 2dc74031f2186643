import type { MeterProvider } from '@opentelemetry/api';
import type { DeliveryConfig } from '../pipeline/delivery-config.js';
import type { PriceOverride } from '../pricing/types.js';
import type { EnvProblem, EnvSource } from './env.js';
import { describeEnvProblem, processEnv, readEnvSetting } from './env.js';
import type { Source } from './names.js';
import { settingName, sourceName } from './names.js';
import type { FenraOptions } from './options.js';
import { parseOptions } from './options.js';
import type { ConfigProblem, ReportOptions } from './problems.js';
import { reportProblems } from './problems.js';
import type { Mode, Setting } from './setting.js';
import { defaultIn, readBy } from './setting.js';
import { SETTINGS } from './settings.js';

/**
 * The configuration of `FenraSpanProcessor` / `FenraSpanExporter`: code options, then the
 * environment, then the defaults. The register entry (environment only) and `convert --send`
 * resolve the same settings under their own mode (their defaults and setting names).
 */
export type LibraryMode = Extract<Mode, 'library' | 'register' | 'convert'>;

/** Why the exporter is disabled. */
export type DisabledBy = 'option' | 'FENRA_DISABLED' | 'OTEL_SDK_DISABLED' | 'invalid_configuration';

/** Options after merging code, environment and defaults. */
export interface ResolvedConfig extends DeliveryConfig {
  billableCustomerId: string | undefined;
  disabledBy: DisabledBy | undefined;
  customerIdKeys: string[] | undefined;
  contextKeys: string[] | undefined;
  azureDeployments: Record<string, string> | undefined;
  /** Largest token count of one call (`invalid_usage` above it). */
  maxTokensPerCall: number;
  priceOverrides: PriceOverride[] | undefined;
  meterProvider: MeterProvider | undefined;
  /** The exporter's wait for a trace's root span, ms. */
  traceWaitMillis: number;
  /** Bounds of the exporter's trace holding (no option: the defaults). */
  maxTraces: number;
  maxSpansPerTrace: number;
}

/** Settings merged by field (the field is the code option's name). */
const MERGED = [
  'apiKey',
  'endpoint',
  'billableCustomerId',
  'maxExportBatchSize',
  'scheduledDelayMillis',
  'maxQueueSize',
  'exportTimeoutMillis',
  'requestTimeoutMillis',
  'concurrencyLimit',
  'customerIdKeys',
  'contextKeys',
  'azureDeployments',
  'maxTokensPerCall',
  'priceOverrides',
  'meterProvider',
  'traceWaitMillis',
  'maxTraces',
  'maxSpansPerTrace',
] as const satisfies readonly (keyof typeof SETTINGS & keyof ResolvedConfig)[];

const RESOLVED = Symbol('@fenra/otel resolved configuration');

export interface ResolveOptions {
  mode?: LibraryMode;
  /** `FenraSpanExporter`'s options (it also takes `traceWaitMillis`). */
  exporter?: boolean;
}

/**
 * Merges `options` (validated: throws a `ConfigurationError`), `env` and the defaults. Pure:
 * the problems found are returned for the caller to report. A malformed URL disables delivery
 * (`disabledBy: 'invalid_configuration'`, an error problem) rather than fall back.
 */
export function resolveLibraryConfig(
  options: unknown,
  env: EnvSource,
  o: ResolveOptions = {},
): { config: ResolvedConfig; problems: ConfigProblem[] } {
  const mode = o.mode ?? 'library';
  const code = parseOptions(options, o.exporter === true) as Record<string, unknown>;
  const problems: ConfigProblem[] = [];
  let fatal = false;
  const envProblem = (p: EnvProblem): void => {
    fatal ||= p.fatal === true;
    problems.push({
      level: p.fatal ? 'error' : 'warn',
      code: 'FENRA_INVALID_ENV',
      message: describeEnvProblem(p),
      cause: `env:${p.variable}=${p.value ?? ''}`,
    });
  };
  const fromEnv = (s: Setting, variable?: string): unknown => {
    if (s.env === undefined || !readBy(s, mode)) return undefined;
    const r = readEnvSetting(env, s, variable);
    if (r?.problem) envProblem(r.problem);
    return r?.value;
  };

  const out: Record<string, unknown> = {};
  const sources: Record<string, Source> = {};
  for (const field of MERGED) {
    const s: Setting = SETTINGS[field];
    const given = code[field];
    const read = given === undefined ? fromEnv(s) : undefined;
    if (given !== undefined) [out[field], sources[field]] = [given, { from: 'option', name: field }];
    else if (read !== undefined) [out[field], sources[field]] = [read, { from: 'env', name: s.env![0]! }];
    else [out[field], sources[field]] = [defaultIn(s, mode), { from: 'default' }];
  }

  // FENRA_DISABLED first, then OTEL_SDK_DISABLED; an option decides alone.
  let disabledBy: DisabledBy | undefined;
  const d = SETTINGS.disabled;
  if (code['disabled'] !== undefined) disabledBy = code['disabled'] === true ? 'option' : undefined;
  else if (fromEnv(d, 'FENRA_DISABLED') === true) disabledBy = 'FENRA_DISABLED';
  else if (fromEnv(d, 'OTEL_SDK_DISABLED') === true) disabledBy = 'OTEL_SDK_DISABLED';
  if (fatal && disabledBy === undefined) disabledBy = 'invalid_configuration';

  const queue = out['maxQueueSize'] as number;
  if ((out['maxExportBatchSize'] as number) > queue) {
    const batch = sourceName(sources['maxExportBatchSize']!, SETTINGS.maxExportBatchSize, mode);
    const q = sourceName(sources['maxQueueSize']!, SETTINGS.maxQueueSize, mode);
    problems.push({
      level: 'warn',
      code: 'FENRA_INVALID_CONFIG',
      message: `${batch} (${String(out['maxExportBatchSize'])}) is larger than ${q} (${queue}); using ${queue}`,
      cause: 'batch_above_queue',
    });
    out['maxExportBatchSize'] = queue;
  }

  const config = {
    ...(out as Omit<ResolvedConfig, 'disabled' | 'disabledBy' | 'settingNames'>),
    disabled: disabledBy !== undefined,
    disabledBy,
    settingNames: {
      apiKey: settingName(SETTINGS.apiKey, mode),
      endpoint: settingName(SETTINGS.endpoint, mode),
      maxQueueSize: settingName(SETTINGS.maxQueueSize, mode),
      exportTimeoutMillis: settingName(SETTINGS.exportTimeoutMillis, mode),
    },
  } satisfies ResolvedConfig;
  Object.defineProperty(config, RESOLVED, { value: true });
  return { config, problems };
}

/** True for a configuration made by {@link resolveLibraryConfig} (handed over by an entry point). */
export function isResolvedConfig(v: unknown): v is ResolvedConfig {
  return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[RESOLVED] === true;
}

/** {@link resolveLibraryConfig}, then its problems reported (diag, and process warnings when asked). */
export function resolveConfig(
  options: unknown,
  env: EnvSource = processEnv(),
  o: ResolveOptions & ReportOptions = {},
): ResolvedConfig {
  const { config, problems } = resolveLibraryConfig(options, env, o);
  reportProblems(problems, o);
  return config;
}

/**
 * The configuration a `FenraSpanProcessor` (or, with `exporter`, a `FenraSpanExporter`) runs
 * with: its options resolved against this process's environment, or the configuration an
 * entry point already resolved and handed over (see {@link handOver}), as is.
 */
export function inProcessConfig(options: FenraOptions | undefined, exporter = false): ResolvedConfig {
  if (isResolvedConfig(options)) return options;
  return resolveConfig(options, processEnv(), { exporter, processWarnings: true });
}

/**
 * Passes a resolved configuration through the processor's public constructor (the register
 * entry resolves once and hands it over: nothing is read or reported twice).
 */
export function handOver(config: ResolvedConfig): FenraOptions {
  return config as unknown as FenraOptions;
}
