/**
 * What the register entry reads from the environment, beyond the `FENRA_*` options that
 * `FenraSpanProcessor` reads itself. Pure: takes the environment, returns values and the
 * problems found (logged by the caller).
 */

/** The instrumentations the register entry can install, by the names used in the env lists. */
export const INSTRUMENTATION_NAMES = ['openai', 'aws-sdk'] as const;
export type InstrumentationName = (typeof INSTRUMENTATION_NAMES)[number];

export type OtlpProtocol = 'http/protobuf' | 'http/json';

export interface RegisterSettings {
  /** `OTEL_SDK_DISABLED` / `FENRA_DISABLED`: nothing is started. */
  disabled: boolean;
  instrumentations: InstrumentationName[];
  /** Bound on the flush at exit / on a signal, ms. `FENRA_SHUTDOWN_TIMEOUT_MILLIS`, default 5000. */
  shutdownTimeoutMillis: number;
  /** Set when all spans are also exported over OTLP (an OTLP endpoint is configured). */
  otlp: { protocol: OtlpProtocol } | undefined;
  /** `OTEL_PROPAGATORS` is set: let the SDK build propagators from it. */
  propagatorsFromEnv: boolean;
  /** `OTEL_NODE_RESOURCE_DETECTORS` is set: let the SDK choose the resource detectors. */
  resourceDetectorsFromEnv: boolean;
  /** `OTEL_LOG_LEVEL`, if set. */
  logLevel: string | undefined;
  problems: string[];
}

export const DEFAULT_SHUTDOWN_TIMEOUT_MILLIS = 5_000;

type Env = Readonly<Record<string, string | undefined>>;

function value(env: Env, key: string): string | undefined {
  const v = env[key]?.trim();
  return v === undefined || v === '' ? undefined : v;
}

function list(env: Env, key: string): string[] | undefined {
  const v = value(env, key);
  if (v === undefined) return undefined;
  return v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** The same spellings of "true" as the `FENRA_*` env reader. */
const TRUE = new Set(['true', '1', 'yes', 'on']);

function truthy(env: Env, key: string): boolean {
  return TRUE.has(value(env, key)?.toLowerCase() ?? '');
}

function isName(s: string): s is InstrumentationName {
  return (INSTRUMENTATION_NAMES as readonly string[]).includes(s);
}

/**
 * Instrumentations: all by default; `OTEL_NODE_ENABLED_INSTRUMENTATIONS` (comma list) keeps
 * only those named, then `OTEL_NODE_DISABLED_INSTRUMENTATIONS` removes those named (the
 * variables of OpenTelemetry's Node auto-instrumentation; names: `openai`, `aws-sdk`).
 */
function selectInstrumentations(env: Env, problems: string[]): InstrumentationName[] {
  const check = (key: string, names: string[]): InstrumentationName[] => {
    const ok: InstrumentationName[] = [];
    for (const n of names) {
      if (isName(n)) ok.push(n);
      else
        problems.push(`${key}: unknown instrumentation "${n}" (known: ${INSTRUMENTATION_NAMES.join(', ')})`);
    }
    return ok;
  };
  const enabledList = list(env, 'OTEL_NODE_ENABLED_INSTRUMENTATIONS');
  const disabledList = list(env, 'OTEL_NODE_DISABLED_INSTRUMENTATIONS');
  const enabled = enabledList
    ? check('OTEL_NODE_ENABLED_INSTRUMENTATIONS', enabledList)
    : [...INSTRUMENTATION_NAMES];
  const disabled = disabledList ? check('OTEL_NODE_DISABLED_INSTRUMENTATIONS', disabledList) : [];
  return enabled.filter((n) => !disabled.includes(n));
}

/**
 * OTLP export of all spans: on when `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or
 * `OTEL_EXPORTER_OTLP_ENDPOINT` is set, unless `OTEL_TRACES_EXPORTER` says `none` (or names no
 * `otlp`). Protocol from `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL` / `OTEL_EXPORTER_OTLP_PROTOCOL`.
 */
function selectOtlp(env: Env, problems: string[]): RegisterSettings['otlp'] {
  const endpoint =
    value(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') ?? value(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  if (endpoint === undefined) return undefined;
  const exporters = list(env, 'OTEL_TRACES_EXPORTER');
  if (exporters !== undefined && (exporters.includes('none') || !exporters.includes('otlp')))
    return undefined;
  const protocol =
    value(env, 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL') ??
    value(env, 'OTEL_EXPORTER_OTLP_PROTOCOL') ??
    'http/protobuf';
  if (protocol === 'http/protobuf' || protocol === 'http/json') return { protocol };
  problems.push(`OTLP protocol "${protocol}" is not supported by the register entry; using http/protobuf`);
  return { protocol: 'http/protobuf' };
}

export function readRegisterSettings(env: Env): RegisterSettings {
  const problems: string[] = [];
  let shutdownTimeoutMillis = DEFAULT_SHUTDOWN_TIMEOUT_MILLIS;
  const raw = value(env, 'FENRA_SHUTDOWN_TIMEOUT_MILLIS');
  if (raw !== undefined) {
    const n = Number(raw);
    if (Number.isInteger(n) && n > 0) shutdownTimeoutMillis = n;
    else
      problems.push(
        `FENRA_SHUTDOWN_TIMEOUT_MILLIS: expected a positive integer, got "${raw}"; using ${shutdownTimeoutMillis}`,
      );
  }
  return {
    disabled: truthy(env, 'OTEL_SDK_DISABLED') || truthy(env, 'FENRA_DISABLED'),
    instrumentations: selectInstrumentations(env, problems),
    shutdownTimeoutMillis,
    otlp: selectOtlp(env, problems),
    propagatorsFromEnv: value(env, 'OTEL_PROPAGATORS') !== undefined,
    resourceDetectorsFromEnv: value(env, 'OTEL_NODE_RESOURCE_DETECTORS') !== undefined,
    logLevel: value(env, 'OTEL_LOG_LEVEL'),
    problems,
  };
}
