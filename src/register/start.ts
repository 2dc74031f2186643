import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { DiagConsoleLogger, DiagLogLevel, diag } from '@opentelemetry/api';
import { W3CTraceContextPropagator, diagLogLevelFromString } from '@opentelemetry/core';
import { OTLPTraceExporter as OtlpHttpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { isMainThread } from 'node:worker_threads';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { envDetector, processDetector } from '@opentelemetry/resources';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { FenraSpanProcessor } from '../otel/span-processor.js';
import { createInstrumentations, hookedModuleNames } from './instrumentations.js';
import type { RegisterSettings } from './settings.js';
import { readRegisterSettings } from './settings.js';
import type { ShutdownHooks } from './shutdown.js';
import { installShutdownHooks } from './shutdown.js';

const log = diag.createComponentLogger({ namespace: '@fenra/otel/register' });

/** Marks the process once the register entry ran (loaded twice: by a flag and NODE_OPTIONS). */
const STARTED = Symbol.for('@fenra/otel/register');
/** Where @opentelemetry/api (any 1.x copy) keeps its globals. */
const OTEL_API_GLOBALS = Symbol.for('opentelemetry.js.api.1');

export const EXISTING_PROVIDER_WARNING =
  'a global tracer provider is already registered, so @fenra/otel/register leaves it alone and bills nothing. ' +
  'Remove the register flag and add the processor to your own setup instead: ' +
  "import { FenraSpanProcessor } from '@fenra/otel'; new NodeSDK({ spanProcessors: [new FenraSpanProcessor(), ...yours] })";

export interface RegisterHandle {
  readonly sdk: NodeSDK;
  readonly processor: FenraSpanProcessor;
  readonly settings: RegisterSettings;
  /** Bare module names the ESM loader hook must wrap for the instrumentations to see them. */
  readonly hookedModules: readonly string[];
  /** Flushes and shuts the SDK down (what the exit hooks call). */
  shutdown(): Promise<void>;
  readonly hooks: ShutdownHooks;
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
  // The SDK installs a console logger itself when OTEL_LOG_LEVEL is set; otherwise warnings
  // (ours: a provider already there, calls that cannot be billed) must still be seen.
  if (level !== undefined) return;
  diag.setLogger(new DiagConsoleLogger(), { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
}

function otlpProcessor(settings: RegisterSettings): SpanProcessor | undefined {
  if (settings.otlp === undefined) return undefined;
  // Endpoint, headers, timeout and compression come from the OTEL_EXPORTER_OTLP_* variables.
  const exporter =
    settings.otlp.protocol === 'http/json' ? new OtlpHttpJsonExporter() : new OtlpProtoExporter();
  return new BatchSpanProcessor(exporter);
}

/**
 * Starts the OpenTelemetry Node SDK with `FenraSpanProcessor`, the LLM instrumentations and
 * the exit hooks, configured by the environment only. Does nothing (and says why) when
 * disabled, when it already ran in this process, or when a tracer provider is already
 * registered (it never replaces one). `FENRA_*` values are read (and their problems
 * reported) by the processor's configuration, as for `new FenraSpanProcessor()`.
 */
export function startRegister(env: NodeJS.ProcessEnv = process.env): RegisterResult {
  // Node runs `--require` preloads in its module-loader thread too (and in worker threads):
  // only the main thread is set up.
  if (!isMainThread) return { started: false, reason: 'not_main_thread' };
  const g = globalThis as Record<symbol, unknown>;
  if (g[STARTED] === true) return { started: false, reason: 'already_started' };
  g[STARTED] = true;
  const settings = readRegisterSettings(env);
  if (settings.disabled) return { started: false, reason: 'disabled' };
  setUpDiagLogger(settings.logLevel);
  for (const p of settings.problems) log.warn(p);
  if (hasGlobalTracerProvider()) {
    log.warn(EXISTING_PROVIDER_WARNING);
    return { started: false, reason: 'existing_provider' };
  }

  const processor = new FenraSpanProcessor();
  const spanProcessors: SpanProcessor[] = [processor];
  const otlp = otlpProcessor(settings);
  if (otlp !== undefined) spanProcessors.push(otlp);
  const instrumentations = createInstrumentations(settings.instrumentations);
  const sdk = new NodeSDK({
    spanProcessors,
    instrumentations,
    // Traces only: no metric readers or log exporters are set up behind the user's back.
    metricReaders: [],
    // The host detector settles asynchronously, and spans converted before then would read an
    // unsettled resource: env (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES) and process only,
    // unless OTEL_NODE_RESOURCE_DETECTORS chooses.
    ...(settings.resourceDetectorsFromEnv ? {} : { resourceDetectors: [envDetector, processDetector] }),
    logRecordProcessors: [],
    // No baggage propagator unless asked: baggage carries the customer id, which must not
    // travel to LLM providers in request headers.
    ...(settings.propagatorsFromEnv ? {} : { textMapPropagator: new W3CTraceContextPropagator() }),
  });
  if (settings.logLevel !== undefined && diagLogLevelFromString(settings.logLevel) === undefined) {
    log.warn(`OTEL_LOG_LEVEL: unknown level "${settings.logLevel}"`);
  }
  sdk.start();
  const shutdown = (): Promise<void> => sdk.shutdown();
  const hooks = installShutdownHooks(shutdown, settings.shutdownTimeoutMillis);
  return {
    started: true,
    handle: { sdk, processor, settings, hookedModules: hookedModuleNames(instrumentations), shutdown, hooks },
  };
}
