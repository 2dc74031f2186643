import type { EnvSource } from './env.js';
import { describeEnvProblem, envText, readEnvSetting } from './env.js';
import type { ResolvedConfig } from './library.js';
import { resolveLibraryConfig } from './library.js';
import type { ConfigProblem } from './problems.js';
import { defaultIn } from './setting.js';
import { SIDECAR_SETTINGS } from './settings-sidecar.js';
import type {
  InstrumentationName,
  OtlpProtocol,
  PropagatorName,
  ResourceDetectorName,
} from './settings-zero-code.js';
import {
  INSTRUMENTATION_NAMES,
  OTLP_PROTOCOLS,
  PROPAGATOR_NAMES,
  RESOURCE_DETECTOR_NAMES,
  ZERO_CODE_SETTINGS as Z,
} from './settings-zero-code.js';
import { commaList, isHttpUrl } from './values.js';

export type { InstrumentationName, OtlpProtocol, PropagatorName, ResourceDetectorName };
export { INSTRUMENTATION_NAMES, PROPAGATOR_NAMES, RESOURCE_DETECTOR_NAMES };

/**
 * The register entry's settings, from the environment only: the SDK it starts (the
 * `OTEL_*` variables of OpenTelemetry's Node auto-instrumentation) and, resolved once here,
 * the processor's own configuration (the `FENRA_*` variables, as for `new FenraSpanProcessor()`).
 */
export interface RegisterSettings {
  /** `OTEL_SDK_DISABLED` / `FENRA_DISABLED` (`true`): nothing is started. */
  disabled: boolean;
  instrumentations: InstrumentationName[];
  /** Bound on the flush at exit / on a signal, ms. `FENRA_SHUTDOWN_TIMEOUT_MILLIS`, default 5000. */
  shutdownTimeoutMillis: number;
  /** Set when all spans are also exported over OTLP (an OTLP endpoint is configured). */
  /** `endpoint`: the OTLP endpoint variable's value (the base URL, or the traces URL). */
  otlp: { protocol: OtlpProtocol; endpoint: string } | undefined;
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
  /** `FENRA_ESM_HOOK`: forces the ESM loader hook on or off; undefined: decided from the main script. */
  esmHook?: boolean | undefined;
  problems: string[];
}

export const DEFAULT_SHUTDOWN_TIMEOUT_MILLIS = defaultIn(
  SIDECAR_SETTINGS.shutdownTimeoutMillis,
  'register',
) as number;

/** What the register entry runs with. */
export interface RegisterConfig {
  settings: RegisterSettings;
  /** The processor's configuration (handed over to it: not resolved again). */
  processor: ResolvedConfig;
  /** The processor configuration's problems, for the processor's own report. */
  processorProblems: ConfigProblem[];
}

const list = (env: EnvSource, key: string): string[] | undefined => {
  const v = envText(env, key);
  return v === undefined ? undefined : commaList(v);
};

/** Names from `known`, in order, once each; the others reported. */
function known<T extends string>(names: string[], all: readonly T[], problem: (n: string) => void): T[] {
  const out: T[] = [];
  for (const n of names) {
    if (!(all as readonly string[]).includes(n)) problem(n);
    else if (!out.includes(n as T)) out.push(n as T);
  }
  return out;
}

/**
 * Instrumentations: all by default; `OTEL_NODE_ENABLED_INSTRUMENTATIONS` (comma list) keeps
 * only those named, then `OTEL_NODE_DISABLED_INSTRUMENTATIONS` removes those named.
 */
function selectInstrumentations(env: EnvSource, problems: string[]): InstrumentationName[] {
  const check = (key: string, names: string[]): InstrumentationName[] =>
    known(names, INSTRUMENTATION_NAMES, (n) =>
      problems.push(`${key}: unknown instrumentation "${n}" (known: ${INSTRUMENTATION_NAMES.join(', ')})`),
    );
  const [enabledKey, disabledKey] = Z.instrumentations.env;
  const enabledList = list(env, enabledKey);
  const disabledList = list(env, disabledKey);
  const enabled = enabledList ? check(enabledKey, enabledList) : [...INSTRUMENTATION_NAMES];
  const disabled = disabledList ? check(disabledKey, disabledList) : [];
  return enabled.filter((n) => !disabled.includes(n));
}

/**
 * OTLP export of all spans: on when `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or
 * `OTEL_EXPORTER_OTLP_ENDPOINT` is set, unless `OTEL_TRACES_EXPORTER` says `none` (or names no
 * `otlp`). Protocol from `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL` / `OTEL_EXPORTER_OTLP_PROTOCOL`.
 * A malformed endpoint turns the OTLP export off (said), never on to somewhere else.
 */
function selectOtlp(env: EnvSource, problems: string[]): RegisterSettings['otlp'] {
  const variable = Z.otlpEndpoint.env.find((k) => envText(env, k) !== undefined);
  if (variable === undefined) return undefined;
  const exporters = list(env, Z.tracesExporter.env[0]);
  if (exporters !== undefined && (exporters.includes('none') || !exporters.includes('otlp')))
    return undefined;
  const endpoint = envText(env, variable)!;
  if (!isHttpUrl(endpoint)) {
    problems.push(
      `${variable} value ${JSON.stringify(endpoint)} is not valid: expected an http(s) URL. ` +
        `Spans are not exported over OTLP until it is fixed: fix ${variable} and restart`,
    );
    return undefined;
  }
  const protocol =
    Z.otlpProtocol.env.map((k) => envText(env, k)).find((v) => v !== undefined) ?? Z.otlpProtocol.default;
  if ((OTLP_PROTOCOLS as readonly string[]).includes(protocol))
    return { protocol: protocol as OtlpProtocol, endpoint };
  problems.push(`OTLP protocol "${protocol}" is not supported by the register entry; using http/protobuf`);
  return { protocol: 'http/protobuf', endpoint };
}

function selectPropagators(env: EnvSource, problems: string[]): PropagatorName[] {
  const names = list(env, Z.propagators.env[0]);
  if (names === undefined) return [...Z.propagators.default];
  if (names.includes('none')) return [];
  return known(names, PROPAGATOR_NAMES, (n) =>
    problems.push(
      `OTEL_PROPAGATORS: "${n}" is not supported by the register entry (supported: tracecontext, baggage, none)`,
    ),
  );
}

function selectResourceDetectors(env: EnvSource, problems: string[]): ResourceDetectorName[] {
  const names = list(env, Z.resourceDetectors.env[0]);
  if (names === undefined) return [...Z.resourceDetectors.default];
  if (names.includes('none')) return [];
  if (names.includes('all')) return [...RESOURCE_DETECTOR_NAMES];
  return known(names, RESOURCE_DETECTOR_NAMES, (n) =>
    problems.push(
      `OTEL_NODE_RESOURCE_DETECTORS: unknown detector "${n}" (known: ${RESOURCE_DETECTOR_NAMES.join(', ')}, all, none)`,
    ),
  );
}

/** Resolves everything the register entry runs with, once. Pure. */
export function resolveRegisterConfig(env: EnvSource): RegisterConfig {
  const problems: string[] = [];
  const { config: processor, problems: processorProblems } = resolveLibraryConfig(undefined, env, {
    mode: 'register',
  });
  const setting = <T>(s: Parameters<typeof readEnvSetting>[1], fallback: T): T => {
    const r = readEnvSetting(env, s);
    if (r?.problem) problems.push(describeEnvProblem(r.problem));
    return r?.value === undefined ? fallback : (r.value as T);
  };
  const settings: RegisterSettings = {
    disabled: processor.disabledBy === 'FENRA_DISABLED' || processor.disabledBy === 'OTEL_SDK_DISABLED',
    instrumentations: selectInstrumentations(env, problems),
    shutdownTimeoutMillis: setting(SIDECAR_SETTINGS.shutdownTimeoutMillis, DEFAULT_SHUTDOWN_TIMEOUT_MILLIS),
    otlp: selectOtlp(env, problems),
    propagators: selectPropagators(env, problems),
    resourceDetectors: selectResourceDetectors(env, problems),
    logLevel: envText(env, Z.diagLogLevel.env[0]),
    esmHook: setting<boolean | undefined>(Z.esmHook, undefined),
    problems,
  };
  return { settings, processor, processorProblems };
}

/** The register entry's own settings (see {@link resolveRegisterConfig}). */
export function readRegisterSettings(env: EnvSource): RegisterSettings {
  return resolveRegisterConfig(env).settings;
}
