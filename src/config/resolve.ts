import { diag } from '@opentelemetry/api';
import { z } from 'zod';
import { warnProcessOnce } from '../internal/process-warning.js';
import type { EnvProblem, EnvSource } from './env.js';
import { readEnvConfig } from './env.js';
import type { DisabledBy, ResolvedConfig } from './options.js';
import { DEFAULTS, ExporterOptionsSchema, FenraOptionsSchema } from './options.js';

const log = diag.createComponentLogger({ namespace: '@fenra/otel/config' });

/** Thrown once, at construction, when options given in code are invalid. */
export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
}

/** The warning for one bad environment value (never includes a secret's value). */
export function describeEnvProblem(p: EnvProblem): string {
  const shown = p.value === undefined ? '' : ` value ${JSON.stringify(p.value)}`;
  return `Ignoring ${p.variable}${shown}: expected ${p.expected}; using the default instead`;
}

export interface ResolveReporting {
  /**
   * Also emit each warning as a Node process warning (once per process per cause), visible
   * without a diag logger. The in-process processor and exporter set it. Default false.
   */
  processWarnings?: boolean;
}

/**
 * Merges options from code, the environment and {@link DEFAULTS} (in that order of
 * precedence). Invalid code options throw a {@link ConfigurationError}; invalid environment
 * values are warned about (through `diag`, and as process warnings when asked) and ignored.
 */
export function resolveConfig(
  options: unknown,
  env: EnvSource = process.env,
  reporting: ResolveReporting = {},
): ResolvedConfig {
  const parsed = FenraOptionsSchema.safeParse(options ?? {});
  if (!parsed.success) {
    throw new ConfigurationError(`Invalid @fenra/otel options:\n${z.prettifyError(parsed.error)}`);
  }
  const code = parsed.data;
  const { config: fromEnv, problems } = readEnvConfig(env);
  for (const p of problems) {
    const message = describeEnvProblem(p);
    log.warn(message);
    if (reporting.processWarnings === true) {
      warnProcessOnce('FENRA_INVALID_ENV', `@fenra/otel: ${message}`, `env:${p.variable}=${p.value ?? ''}`);
    }
  }

  let disabledBy: DisabledBy | undefined;
  if (code.disabled !== undefined) disabledBy = code.disabled ? 'option' : undefined;
  else if (fromEnv.fenraDisabled === true) disabledBy = 'FENRA_DISABLED';
  else if (fromEnv.otelSdkDisabled === true) disabledBy = 'OTEL_SDK_DISABLED';

  const maxQueueSize = code.maxQueueSize ?? fromEnv.maxQueueSize ?? DEFAULTS.maxQueueSize;
  let maxExportBatchSize =
    code.maxExportBatchSize ?? fromEnv.maxExportBatchSize ?? DEFAULTS.maxExportBatchSize;
  if (maxExportBatchSize > maxQueueSize) {
    const message = `maxExportBatchSize (${maxExportBatchSize}) is larger than maxQueueSize (${maxQueueSize}); using ${maxQueueSize}`;
    log.warn(message);
    if (reporting.processWarnings === true) {
      warnProcessOnce('FENRA_INVALID_CONFIG', `@fenra/otel: ${message}`, 'batch_above_queue');
    }
    maxExportBatchSize = maxQueueSize;
  }

  return {
    apiKey: code.apiKey ?? fromEnv.apiKey,
    endpoint: code.endpoint ?? fromEnv.endpoint ?? DEFAULTS.endpoint,
    billableCustomerId: code.billableCustomerId ?? fromEnv.billableCustomerId,
    disabled: disabledBy !== undefined,
    disabledBy,
    maxExportBatchSize,
    scheduledDelayMillis:
      code.scheduledDelayMillis ?? fromEnv.scheduledDelayMillis ?? DEFAULTS.scheduledDelayMillis,
    maxQueueSize,
    exportTimeoutMillis:
      code.exportTimeoutMillis ?? fromEnv.exportTimeoutMillis ?? DEFAULTS.exportTimeoutMillis,
    requestTimeoutMillis: code.requestTimeoutMillis ?? DEFAULTS.requestTimeoutMillis,
    concurrencyLimit: code.concurrencyLimit ?? DEFAULTS.concurrencyLimit,
    customerIdKeys: code.customerIdKeys ?? fromEnv.customerIdKeys,
    contextKeys: code.contextKeys,
    azureDeployments: code.azureDeployments,
    priceOverrides: code.priceOverrides,
    meterProvider: code.meterProvider,
  };
}

/**
 * Splits `FenraSpanExporter` options into its own (validated, defaults applied) and the shared
 * ones (validated by {@link resolveConfig}). Throws a {@link ConfigurationError} like it.
 */
export function resolveExporterOptions<T extends { traceWaitMillis?: unknown }>(
  options: T | undefined,
): { traceWaitMillis: number; rest: Omit<T, 'traceWaitMillis'> | undefined } {
  if (options === undefined || options === null) {
    return { traceWaitMillis: DEFAULTS.traceWaitMillis, rest: undefined };
  }
  const { traceWaitMillis, ...rest } = options;
  const parsed = ExporterOptionsSchema.safeParse(traceWaitMillis === undefined ? {} : { traceWaitMillis });
  if (!parsed.success) {
    throw new ConfigurationError(`Invalid @fenra/otel options:\n${z.prettifyError(parsed.error)}`);
  }
  return { traceWaitMillis: parsed.data.traceWaitMillis ?? DEFAULTS.traceWaitMillis, rest };
}
