import { diag } from '@opentelemetry/api';
import { z } from 'zod';
import type { EnvProblem, EnvSource } from './env.js';
import { readEnvConfig } from './env.js';
import type { DisabledBy, ResolvedConfig } from './options.js';
import { DEFAULTS, FenraOptionsSchema } from './options.js';

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

/**
 * Merges options from code, the environment and {@link DEFAULTS} (in that order of
 * precedence). Invalid code options throw a {@link ConfigurationError}; invalid environment
 * values are warned about (through `diag`) and ignored.
 */
export function resolveConfig(options: unknown, env: EnvSource = process.env): ResolvedConfig {
  const parsed = FenraOptionsSchema.safeParse(options ?? {});
  if (!parsed.success) {
    throw new ConfigurationError(`Invalid @fenra/otel options:\n${z.prettifyError(parsed.error)}`);
  }
  const code = parsed.data;
  const { config: fromEnv, problems } = readEnvConfig(env);
  for (const p of problems) log.warn(describeEnvProblem(p));

  let disabledBy: DisabledBy | undefined;
  if (code.disabled !== undefined) disabledBy = code.disabled ? 'option' : undefined;
  else if (fromEnv.fenraDisabled === true) disabledBy = 'FENRA_DISABLED';
  else if (fromEnv.otelSdkDisabled === true) disabledBy = 'OTEL_SDK_DISABLED';

  const maxQueueSize = code.maxQueueSize ?? fromEnv.maxQueueSize ?? DEFAULTS.maxQueueSize;
  let maxExportBatchSize =
    code.maxExportBatchSize ?? fromEnv.maxExportBatchSize ?? DEFAULTS.maxExportBatchSize;
  if (maxExportBatchSize > maxQueueSize) {
    log.warn(
      `maxExportBatchSize (${maxExportBatchSize}) is larger than maxQueueSize (${maxQueueSize}); using ${maxQueueSize}`,
    );
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
