import { createRequire } from 'node:module';
import type * as OtlpHttpJson from '@opentelemetry/exporter-trace-otlp-http';
import type * as OtlpProto from '@opentelemetry/exporter-trace-otlp-proto';
import { isMainThread } from 'node:worker_threads';
import type { TextMapPropagator } from '@opentelemetry/api';
import { DiagConsoleLogger, DiagLogLevel, ProxyTracerProvider, diag, trace } from '@opentelemetry/api';
import {
  CompositePropagator,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
  diagLogLevelFromString,
} from '@opentelemetry/core';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import type { ResourceDetector } from '@opentelemetry/resources';
import {
  defaultResource,
  detectResources,
  envDetector,
  hostDetector,
  osDetector,
  processDetector,
  serviceInstanceIdDetector,
} from '@opentelemetry/resources';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { handOver as handOverConfig } from '../config/library.js';
import { reportProblems } from '../config/problems.js';
import type { EnvSource } from '../config/env.js';
import { processEnv } from '../config/env.js';
import type { PropagatorName, RegisterSettings, ResourceDetectorName } from '../config/register.js';
import { resolveRegisterConfig } from '../config/register.js';
import { displayUrl } from '../internal/display-url.js';
import { constructingForRegister } from '../internal/in-process-mode.js';
import { markDiagVisible } from '../internal/process-warning.js';
import { FenraSpanProcessor, reportUndelivered } from '../otel/span-processor.js';
import { defaultRegisterLogger } from './diag-logger.js';
import { publishFlushHandle } from './flush.js';
import { HandOverTracerProvider } from './hand-over-provider.js';
import { createInstrumentations, hookedModuleNames } from './instrumentations.js';
import type { ShutdownHooks } from './shutdown.js';
import { installShutdownHooks } from './shutdown.js';
import { bounded } from '../internal/exit-flush.js';
import type { YieldWatch } from './yield-to-app.js';
import { yieldToLateRegistrations } from './yield-to-app.js';

const log = diag.createComponentLogger({ namespace: '@fenra/otel/register' });

/** How long after start an app's own OpenTelemetry set-up is still noticed (and wins). */
export const LATE_REGISTRATION_WINDOW_MS = 30_000;

/** Marks the process once the register entry ran (loaded twice: by a flag and NODE_OPTIONS). */
const STARTED = Symbol.for('@fenra/otel/register');
/** Where @opentelemetry/api (any 1.x copy) keeps its globals. */
const OTEL_API_GLOBALS = Symbol.for('opentelemetry.js.api.1');

export const EXISTING_PROVIDER_WARNING =
  'a global tracer provider is already registered, so @fenra/otel/register leaves it alone and bills nothing. ' +
  'Remove the register flag and add the processor to your own setup instead: ' +
  "import { FenraSpanProcessor } from '@fenra/otel'; new NodeSDK({ spanProcessors: [new FenraSpanProcessor(), ...yours] })";

export const LATE_PROVIDER_WARNING =
  'the app registered its own tracer provider after @fenra/otel/register started, so the register entry steps aside: ' +
  "your provider is the global one (the LLM instrumentations report to it), the register entry's own provider is shut down, and LLM calls are not billed. " +
  'Remove the register flag and add the processor (and the LLM instrumentations) to your own setup instead: ' +
  "import { FenraSpanProcessor } from '@fenra/otel'; new NodeSDK({ spanProcessors: [new FenraSpanProcessor(), ...yours], " +
  'instrumentations: [new OpenAIInstrumentation(), ...yours] })';

export const LATE_REGISTRATION_FAILED_WARNING = (type: string): string =>
  `the app tried to register its own global ${type} after @fenra/otel/register started, with another exact version of ` +
  '@opentelemetry/api than the one registered first, so OpenTelemetry refused it. Use one copy of @opentelemetry/api, ' +
  "or remove the register flag and add FenraSpanProcessor to your own setup (import { FenraSpanProcessor } from '@fenra/otel')";

export interface RegisterHandle {
  readonly provider: NodeTracerProvider;
  readonly processor: FenraSpanProcessor;
  readonly settings: RegisterSettings;
  /** Bare module names the ESM loader hook must wrap for the instrumentations to see them. */
  readonly hookedModules: readonly string[];
  /** Flushes and shuts the tracer provider down (what the exit hooks call). */
  shutdown(): Promise<void>;
  readonly hooks: ShutdownHooks;
  /** Watches for the app's own later registration of a tracer provider (then steps aside). */
  readonly watch: YieldWatch | undefined;
  /** True once the app registered its own tracer provider and the register entry stepped aside. */
  steppedAside(): boolean;
}

export type RegisterResult =
  | { started: true; handle: RegisterHandle }
  | { started: false; reason: 'disabled' | 'already_started' | 'existing_provider' | 'not_main_thread' };

/** True when some code already registered a global tracer provider. */
export function hasGlobalTracerProvider(): boolean {
  const globals = (globalThis as Record<symbol, { trace?: unknown } | undefined>)[OTEL_API_GLOBALS];
  return globals?.trace !== undefined;
}

function setUpDiagLogger(level: string | undefined): void {
  // OTEL_LOG_LEVEL as OpenTelemetry defines it; without it, warnings only (ours: a provider
  // already there, calls that cannot be billed) so that they are seen.
  const parsed = level === undefined ? undefined : diagLogLevelFromString(level);
  // By default, also our own few info lines (billing works), on standard error.
  const { logger, logLevel } =
    parsed === undefined ? defaultRegisterLogger() : { logger: new DiagConsoleLogger(), logLevel: parsed };
  diag.setLogger(logger, { logLevel, suppressOverrideMessage: true });
  // Our warnings now print through diag: not again as process warnings.
  if ((parsed ?? DiagLogLevel.WARN) >= DiagLogLevel.WARN) markDiagVisible();
  if (level !== undefined && parsed === undefined) log.warn(`OTEL_LOG_LEVEL: unknown level "${level}"`);
}

const DETECTORS: Record<ResourceDetectorName, ResourceDetector> = {
  env: envDetector,
  process: processDetector,
  host: hostDetector,
  os: osDetector,
  serviceinstance: serviceInstanceIdDetector,
};

function propagator(names: readonly PropagatorName[]): TextMapPropagator {
  const parts = names.map((n) =>
    n === 'baggage' ? new W3CBaggagePropagator() : new W3CTraceContextPropagator(),
  );
  return new CompositePropagator({ propagators: parts });
}

/**
 * A package only some set-ups need, loaded when one does (the OTLP exporters and protobufjs
 * cost start-up time to every app that exports nowhere else).
 */
function loadOptional<T>(name: string): T {
  return createRequire(import.meta.url)(name) as T;
}

function otlpProcessor(settings: RegisterSettings): SpanProcessor | undefined {
  if (settings.otlp === undefined) return undefined;
  // Endpoint, headers, timeout and compression come from the OTEL_EXPORTER_OTLP_* variables.
  const exporter =
    settings.otlp.protocol === 'http/json'
      ? new (loadOptional<typeof OtlpHttpJson>('@opentelemetry/exporter-trace-otlp-http').OTLPTraceExporter)()
      : new (loadOptional<typeof OtlpProto>('@opentelemetry/exporter-trace-otlp-proto').OTLPTraceExporter)();
  return new BatchSpanProcessor(exporter);
}

/**
 * Starts a Node tracer provider with `FenraSpanProcessor`, the LLM instrumentations and the
 * exit hooks, configured by the environment only. Does nothing (and says why) when disabled,
 * when it already ran in this process, or when a tracer provider is already registered (it
 * never replaces one). When the app registers its own tracer provider later (its own
 * `NodeSDK` started in its main module), that registration succeeds and the register entry
 * steps aside: it warns once, its instrumentations report to the app's provider and its own
 * provider is shut down. The environment is resolved once (`resolveRegisterConfig`): the
 * `FENRA_*` values the processor runs with are handed to it, as `new FenraSpanProcessor()` would
 * read them, and their problems reported once the diag logger is set up.
 *
 * Built on the pieces `NodeSDK` is made of (tracer provider, async-hooks context manager,
 * propagators, resource detectors, instrumentations) rather than on `NodeSDK` itself: loading
 * `@opentelemetry/sdk-node` alone costs ~250 ms of startup (its metrics, logs and gRPC exporters).
 */
export function startRegister(env: EnvSource = processEnv()): RegisterResult {
  // Node runs `--require` preloads in its module-loader thread too (and in worker threads):
  // only the main thread is set up.
  if (!isMainThread) return { started: false, reason: 'not_main_thread' };
  const g = globalThis as Record<symbol, unknown>;
  if (g[STARTED] === true) return { started: false, reason: 'already_started' };
  g[STARTED] = true;
  const { settings, processor: processorConfig, processorProblems } = resolveRegisterConfig(env);
  if (settings.disabled) return { started: false, reason: 'disabled' };
  setUpDiagLogger(settings.logLevel);
  for (const p of settings.problems) log.warn(p);
  if (hasGlobalTracerProvider()) {
    log.warn(EXISTING_PROVIDER_WARNING);
    return { started: false, reason: 'existing_provider' };
  }

  reportProblems(processorProblems, { processWarnings: true });
  // Its provider's shutdown flushes it at exit (the hooks below): messages speak zero-code.
  const processor = constructingForRegister(() => new FenraSpanProcessor(handOverConfig(processorConfig)), {
    otlpExportTo: settings.otlp === undefined ? undefined : displayUrl(settings.otlp.endpoint),
  });
  const spanProcessors: SpanProcessor[] = [processor];
  const otlp = otlpProcessor(settings);
  if (otlp !== undefined) spanProcessors.push(otlp);
  const resource = defaultResource().merge(
    detectResources({ detectors: settings.resourceDetectors.map((n) => DETECTORS[n]) }),
  );
  // Sampler and span limits: from OTEL_TRACES_SAMPLER etc., read by the provider itself.
  const provider = new NodeTracerProvider({ resource, spanProcessors });
  // The global provider, its context manager and propagator; then the tracers handed out
  // become hand-over tracers (see HandOverTracerProvider), for the case the app registers its
  // own provider later.
  provider.register({ propagator: propagator(settings.propagators) });
  const handOver = new HandOverTracerProvider(provider);
  const global = trace.getTracerProvider();
  if (global instanceof ProxyTracerProvider) global.setDelegate(handOver);
  let aside = false;
  const instrumentations = createInstrumentations(settings.instrumentations, { isActive: () => !aside });
  registerInstrumentations({ instrumentations, tracerProvider: handOver });

  const shutdown = (): Promise<void> => provider.shutdown();
  const hooks = installShutdownHooks(shutdown, settings.shutdownTimeoutMillis, () =>
    reportUndelivered(processor),
  );
  const stepAside = (): void => {
    if (aside) return;
    aside = true;
    log.warn(LATE_PROVIDER_WARNING);
    // Every tracer handed out so far (ours, the app's instrumentations', libraries') reports to
    // the app's provider from now on. Our instrumentations stay patched: an instrumentation
    // package patches a module once (the last one enabled unwraps the other), so an app that
    // enables the same one gets each call once, from whichever won; unwrapping ours now could
    // remove the app's patch with it.
    handOver.handOver();
    publishFlushHandle(undefined);
    // Whatever was recorded before the switch is still delivered; exit hooks wait for it.
    void hooks.now();
  };
  const watch = yieldToLateRegistrations({
    onYield: (type) => {
      if (type === 'trace') stepAside();
    },
    onFailed: (type) => log.warn(LATE_REGISTRATION_FAILED_WARNING(type)),
  });
  // The watch turns every lookup of an OpenTelemetry global (each `context.active()`) into a
  // few accessor calls (measured: ~35 ns → ~100 ns each). An app starts its own SDK while it
  // starts: after that window the globals become plain properties again.
  if (watch !== undefined) setTimeout(() => watch.dispose(), LATE_REGISTRATION_WINDOW_MS).unref();
  publishFlushHandle({
    flush: async (timeoutMillis = settings.shutdownTimeoutMillis) => {
      if (aside) return;
      const outcome = await bounded(() => provider.forceFlush(), timeoutMillis);
      if (outcome === 'timeout') log.warn(`flushFenra: flush did not finish within ${timeoutMillis} ms`);
    },
  });
  return {
    started: true,
    handle: {
      provider,
      processor,
      settings,
      hookedModules: hookedModuleNames(instrumentations),
      shutdown,
      hooks,
      watch,
      steppedAside: () => aside,
    },
  };
}
