/**
 * The one place that reads environment variables. Pure: it takes the environment as a plain
 * object and returns the values it understood plus the problems it found; `resolveConfig`
 * decides how to report them (a warning each, never the API key's value).
 */

/** Every environment variable this package reads. */
export const ENV_VARS = [
  'FENRA_API_KEY',
  'FENRA_ENDPOINT',
  'FENRA_BILLABLE_CUSTOMER_ID',
  'FENRA_DISABLED',
  'FENRA_MAX_EXPORT_BATCH_SIZE',
  'FENRA_SCHEDULED_DELAY_MILLIS',
  'FENRA_MAX_QUEUE_SIZE',
  'FENRA_EXPORT_TIMEOUT_MILLIS',
  'FENRA_CUSTOMER_ID_KEYS',
  'OTEL_SDK_DISABLED',
] as const;

export type EnvVarName = (typeof ENV_VARS)[number];

/** An environment: `process.env` or a literal object in tests. */
export type EnvSource = Readonly<Partial<Record<string, string | undefined>>>;

/** Settings taken from the environment (only those that were set and valid). */
export interface EnvConfig {
  apiKey?: string;
  endpoint?: string;
  billableCustomerId?: string;
  /** `FENRA_DISABLED=true`. */
  fenraDisabled?: boolean;
  /** `OTEL_SDK_DISABLED=true` (only `true`, any case, means true: the OTel spec). */
  otelSdkDisabled?: boolean;
  maxExportBatchSize?: number;
  scheduledDelayMillis?: number;
  maxQueueSize?: number;
  exportTimeoutMillis?: number;
  customerIdKeys?: string[];
}

/** A value that was set but could not be used. `value` is omitted for secrets. */
export interface EnvProblem {
  variable: EnvVarName;
  value?: string;
  expected: string;
}

export interface EnvReadResult {
  config: EnvConfig;
  problems: EnvProblem[];
}

/** FENRA_DISABLED is lenient; OTel's own booleans follow the spec (see `otelBool`). */
const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

function text(env: EnvSource, name: EnvVarName): string | undefined {
  const raw = env[name];
  if (raw === undefined) return undefined;
  const trimmed = raw.trim();
  return trimmed === '' ? undefined : trimmed;
}

/** Reads every variable in {@link ENV_VARS}; unset or empty variables are simply absent. */
export function readEnvConfig(env: EnvSource): EnvReadResult {
  const config: EnvConfig = {};
  const problems: EnvProblem[] = [];

  const bool = (name: EnvVarName): boolean | undefined => {
    const v = text(env, name);
    if (v === undefined) return undefined;
    const lower = v.toLowerCase();
    if (TRUE.has(lower)) return true;
    if (FALSE.has(lower)) return false;
    problems.push({ variable: name, value: v, expected: 'true or false' });
    return undefined;
  };

  // https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/#boolean
  // Only the case-insensitive "true" is true; any other value is false, and a value other than
  // "false" is warned about.
  const otelBool = (name: EnvVarName): boolean | undefined => {
    const v = text(env, name);
    if (v === undefined) return undefined;
    const lower = v.toLowerCase();
    if (lower === 'true') return true;
    if (lower !== 'false') {
      problems.push({ variable: name, value: v, expected: 'true or false (any other value means false)' });
    }
    return false;
  };

  const positiveInt = (name: EnvVarName): number | undefined => {
    const v = text(env, name);
    if (v === undefined) return undefined;
    if (/^\d+$/.test(v)) {
      const n = Number(v);
      if (Number.isSafeInteger(n) && n > 0) return n;
    }
    problems.push({ variable: name, value: v, expected: 'a positive integer' });
    return undefined;
  };

  const apiKey = text(env, 'FENRA_API_KEY');
  if (apiKey !== undefined) config.apiKey = apiKey;
  else if (env.FENRA_API_KEY !== undefined) {
    // Set but blank: say so, without echoing anything.
    problems.push({ variable: 'FENRA_API_KEY', expected: 'a non-empty API key' });
  }

  const endpoint = text(env, 'FENRA_ENDPOINT');
  if (endpoint !== undefined) {
    if (isHttpUrl(endpoint)) config.endpoint = endpoint;
    else problems.push({ variable: 'FENRA_ENDPOINT', value: endpoint, expected: 'an http(s) URL' });
  }

  const customer = text(env, 'FENRA_BILLABLE_CUSTOMER_ID');
  if (customer !== undefined) config.billableCustomerId = customer;

  const fenraDisabled = bool('FENRA_DISABLED');
  if (fenraDisabled !== undefined) config.fenraDisabled = fenraDisabled;
  const otelDisabled = otelBool('OTEL_SDK_DISABLED');
  if (otelDisabled !== undefined) config.otelSdkDisabled = otelDisabled;

  const batch = positiveInt('FENRA_MAX_EXPORT_BATCH_SIZE');
  if (batch !== undefined) config.maxExportBatchSize = batch;
  const delay = positiveInt('FENRA_SCHEDULED_DELAY_MILLIS');
  if (delay !== undefined) config.scheduledDelayMillis = delay;
  const queue = positiveInt('FENRA_MAX_QUEUE_SIZE');
  if (queue !== undefined) config.maxQueueSize = queue;
  const timeout = positiveInt('FENRA_EXPORT_TIMEOUT_MILLIS');
  if (timeout !== undefined) config.exportTimeoutMillis = timeout;

  const keys = text(env, 'FENRA_CUSTOMER_ID_KEYS');
  if (keys !== undefined) {
    const list = keys
      .split(',')
      .map((k) => k.trim())
      .filter((k) => k !== '');
    if (list.length > 0) config.customerIdKeys = list;
    else
      problems.push({ variable: 'FENRA_CUSTOMER_ID_KEYS', value: keys, expected: 'a comma-separated list' });
  }

  return { config, problems };
}

export function isHttpUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}
