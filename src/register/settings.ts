/**
 * What the register entry reads from the environment, beyond the `FENRA_*` options that
 * `FenraSpanProcessor` reads itself. Pure: takes the environment, returns values and the
 * problems found (logged by the caller).
 */

/** The instrumentations the register entry can install, by the names used in the env lists. */
export const INSTRUMENTATION_NAMES = ['openai', 'aws-sdk', 'ai'] as const;
export type InstrumentationName = (typeof INSTRUMENTATION_NAMES)[number];

export type OtlpProtocol = 'http/protobuf' | 'http/json';

export const RESOURCE_DETECTOR_NAMES = ['env', 'process', 'host', 'os', 'serviceinstance'] as const;
export type ResourceDetectorName = (typeof RESOURCE_DETECTOR_NAMES)[number];

export const PROPAGATOR_NAMES = ['tracecontext', 'baggage'] as const;
export type PropagatorName = (typeof PROPAGATOR_NAMES)[number];

export interface RegisterSettings {
  /** `OTEL_SDK_DISABLED` / `FENRA_DISABLED`: nothing is started. */
  disabled: boolean;
  instrumentations: InstrumentationName[];
  /** Bound on the flush at exit / on a signal, ms. `FENRA_SHUTDOWN_TIMEOUT_MILLIS`, default 5000. */
  shutdownTimeoutMillis: number;
  /** Set when all spans are also exported over OTLP (an OTLP endpoint is configured). */
  otlp: { protocol: OtlpProtocol } | undefined;
  /**
   * `OTEL_PROPAGATORS` (`tracecontext`, `baggage`, `none`). Default `tracecontext` only: baggage
   * carries the customer id, which must not travel to LLM providers in request headers.
   */
  propagators: PropagatorName[];
  /**
   * `OTEL_NODE_RESOURCE_DETECTORS` (`env`, `process`, `host`, `os`, `serviceinstance`, `all`,
   * `none`). Default `env,process`: the host detector settles asynchronously, and spans
   * converted before then would read an unsettled resource.
   */
  resourceDetectors: ResourceDetectorName[];
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
 * variables of OpenTelemetry's Node auto-instrumentation; names: `openai`, `aws-sdk`, `ai`).
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

function selectPropagators(env: Env, problems: string[]): PropagatorName[] {
  const names = list(env, 'OTEL_PROPAGATORS');
  if (names === undefined) return ['tracecontext'];
  if (names.includes('none')) return [];
  const out: PropagatorName[] = [];
  for (const n of names) {
    if ((PROPAGATOR_NAMES as readonly string[]).includes(n)) {
      if (!out.includes(n as PropagatorName)) out.push(n as PropagatorName);
    } else {
      problems.push(
        `OTEL_PROPAGATORS: "${n}" is not supported by the register entry (supported: tracecontext, baggage, none)`,
      );
    }
  }
  return out;
}

function selectResourceDetectors(env: Env, problems: string[]): ResourceDetectorName[] {
  const names = list(env, 'OTEL_NODE_RESOURCE_DETECTORS');
  if (names === undefined) return ['env', 'process'];
  if (names.includes('none')) return [];
  if (names.includes('all')) return [...RESOURCE_DETECTOR_NAMES];
  const out: ResourceDetectorName[] = [];
  for (const n of names) {
    if ((RESOURCE_DETECTOR_NAMES as readonly string[]).includes(n)) {
      if (!out.includes(n as ResourceDetectorName)) out.push(n as ResourceDetectorName);
    } else {
      problems.push(
        `OTEL_NODE_RESOURCE_DETECTORS: unknown detector "${n}" (known: ${RESOURCE_DETECTOR_NAMES.join(', ')}, all, none)`,
      );
    }
  }
  return out;
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
    propagators: selectPropagators(env, problems),
    resourceDetectors: selectResourceDetectors(env, problems),
    logLevel: value(env, 'OTEL_LOG_LEVEL'),
    problems,
  };
}
