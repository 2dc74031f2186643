import type { Setting } from './setting.js';

/** The instrumentations the register entry can install, by the names used in the env lists. */
export const INSTRUMENTATION_NAMES = ['openai', 'aws-sdk', 'ai'] as const;
export type InstrumentationName = (typeof INSTRUMENTATION_NAMES)[number];

export const RESOURCE_DETECTOR_NAMES = ['env', 'process', 'host', 'os', 'serviceinstance'] as const;
export type ResourceDetectorName = (typeof RESOURCE_DETECTOR_NAMES)[number];

export const PROPAGATOR_NAMES = ['tracecontext', 'baggage'] as const;
export type PropagatorName = (typeof PROPAGATOR_NAMES)[number];

export const OTLP_PROTOCOLS = ['http/protobuf', 'http/json'] as const;
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];

/**
 * `@fenra/otel/register` only: the OpenTelemetry SDK it starts, set up from the variables of
 * OpenTelemetry's Node auto-instrumentation. Rows of kind `sdk` are read by the SDK itself and
 * are listed for the documentation.
 */
export const ZERO_CODE_SETTINGS = {
  instrumentations: {
    doc: 'zero-code: instrumentations (`openai`, `aws-sdk`, `ai`)',
    kind: 'list',
    modes: ['register'],
    env: ['OTEL_NODE_ENABLED_INSTRUMENTATIONS', 'OTEL_NODE_DISABLED_INSTRUMENTATIONS'],
    default: [...INSTRUMENTATION_NAMES],
    defaultDoc: 'all',
  },
  propagators: {
    doc: 'zero-code: propagators (`tracecontext`, `baggage`, `none`); baggage carries the customer id to LLM providers too',
    kind: 'list',
    modes: ['register'],
    env: ['OTEL_PROPAGATORS'],
    default: ['tracecontext'],
  },
  resourceDetectors: {
    doc: 'zero-code: resource detectors (`env`, `process`, `host`, `os`, `serviceinstance`, `all`, `none`)',
    kind: 'list',
    modes: ['register'],
    env: ['OTEL_NODE_RESOURCE_DETECTORS'],
    default: ['env', 'process'],
  },
  resource: {
    doc: 'zero-code: service and resource (`service`, `environment` in the context)',
    kind: 'sdk',
    modes: ['register'],
    env: ['OTEL_SERVICE_NAME', 'OTEL_RESOURCE_ATTRIBUTES'],
    defaultDoc: 'from the `env` detector',
  },
  otlpEndpoint: {
    doc: 'zero-code: also export all spans over OTLP (a malformed URL is an error: no OTLP export)',
    kind: 'url',
    modes: ['register'],
    env: ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_EXPORTER_OTLP_ENDPOINT'],
    envNote: '(the first one set); `…_HEADERS`, `…_TIMEOUT`, `…_COMPRESSION` are read by the exporter',
    defaultDoc: 'off',
  },
  otlpProtocol: {
    doc: 'zero-code: protocol of that OTLP export (`http/protobuf`, `http/json`)',
    kind: 'string',
    modes: ['register'],
    env: ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL'],
    envNote: '(the first one set)',
    default: 'http/protobuf',
  },
  tracesExporter: {
    doc: 'zero-code: turn that OTLP export off',
    kind: 'list',
    modes: ['register'],
    env: ['OTEL_TRACES_EXPORTER'],
    envNote: '(`none`, or a list without `otlp`)',
    defaultDoc: '`otlp` when an endpoint is set',
  },
  sampler: {
    doc: 'zero-code: sampler (a call in an unsampled trace is not billed)',
    kind: 'sdk',
    modes: ['register'],
    env: ['OTEL_TRACES_SAMPLER', 'OTEL_TRACES_SAMPLER_ARG'],
    default: 'parentbased_always_on',
  },
  esmHook: {
    doc: 'zero-code: ESM loader hook',
    kind: 'bool',
    modes: ['register'],
    env: ['FENRA_ESM_HOOK'],
    envNote: '(`true` / `false`)',
    defaultDoc: 'on unless the main script is CommonJS for sure',
  },
  diagLogLevel: {
    doc: 'zero-code: diagnostics on stderr',
    kind: 'string',
    modes: ['register'],
    env: ['OTEL_LOG_LEVEL'],
    envNote: '(`none`, `error`, `warn`, `info`, `debug`, `verbose`, `all`)',
    default: 'warn',
    defaultDoc: "`warn`, plus this package's few info lines (billing works)",
  },
} as const satisfies Record<string, Setting>;
