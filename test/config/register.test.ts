import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SHUTDOWN_TIMEOUT_MILLIS,
  readRegisterSettings,
  resolveRegisterConfig,
} from '../../src/config/register.js';

describe('readRegisterSettings', () => {
  it('defaults: every instrumentation, no OTLP, W3C trace context only, 5 s flush bound', () => {
    expect(readRegisterSettings({})).toEqual({
      disabled: false,
      instrumentations: ['openai', 'aws-sdk', 'ai'],
      shutdownTimeoutMillis: DEFAULT_SHUTDOWN_TIMEOUT_MILLIS,
      otlp: undefined,
      propagators: ['tracecontext'],
      resourceDetectors: ['env', 'process'],
      logLevel: undefined,
      problems: [],
    });
  });

  it.each([
    ['OTEL_SDK_DISABLED', 'true', true],
    ['FENRA_DISABLED', 'true', true],
    ['FENRA_DISABLED', 'TRUE', true],
    // OpenTelemetry's boolean rule, as the processor reads it: only "true" is true.
    ['FENRA_DISABLED', '1', false],
    ['FENRA_DISABLED', 'YES', false],
    ['FENRA_DISABLED', 'false', false],
    ['OTEL_SDK_DISABLED', '', false],
  ])('%s=%s → disabled %s', (key, value, disabled) => {
    expect(readRegisterSettings({ [key]: value }).disabled).toBe(disabled);
  });

  it('enabled and disabled instrumentation lists, unknown names reported', () => {
    expect(readRegisterSettings({ OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'openai' }).instrumentations).toEqual([
      'openai',
    ]);
    expect(
      readRegisterSettings({ OTEL_NODE_DISABLED_INSTRUMENTATIONS: ' openai ,' }).instrumentations,
    ).toEqual(['aws-sdk', 'ai']);
    const s = readRegisterSettings({
      OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'openai,aws-sdk,langchain',
      OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'aws-sdk',
    });
    expect(s.instrumentations).toEqual(['openai']);
    expect(s.problems).toEqual([
      'OTEL_NODE_ENABLED_INSTRUMENTATIONS: unknown instrumentation "langchain" (known: openai, aws-sdk, ai)',
    ]);
  });

  it('OTLP export only with an endpoint, honouring OTEL_TRACES_EXPORTER and the protocol', () => {
    const ep = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };
    expect(readRegisterSettings(ep).otlp).toEqual({
      protocol: 'http/protobuf',
      endpoint: 'http://collector:4318',
    });
    expect(readRegisterSettings({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c/v1/traces' }).otlp).toEqual({
      protocol: 'http/protobuf',
      endpoint: 'http://c/v1/traces',
    });
    expect(readRegisterSettings({ ...ep, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }).otlp).toEqual({
      protocol: 'http/json',
      endpoint: 'http://collector:4318',
    });
    expect(
      readRegisterSettings({
        ...ep,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf',
      }).otlp,
    ).toEqual({ protocol: 'http/protobuf', endpoint: 'http://collector:4318' });
    expect(readRegisterSettings({ ...ep, OTEL_TRACES_EXPORTER: 'none' }).otlp).toBeUndefined();
    expect(readRegisterSettings({ ...ep, OTEL_TRACES_EXPORTER: 'console' }).otlp).toBeUndefined();
    expect(readRegisterSettings({ ...ep, OTEL_TRACES_EXPORTER: 'console,otlp' }).otlp).toEqual({
      protocol: 'http/protobuf',
      endpoint: 'http://collector:4318',
    });
    const grpc = readRegisterSettings({ ...ep, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' });
    expect(grpc.otlp).toEqual({ protocol: 'http/protobuf', endpoint: 'http://collector:4318' });
    expect(grpc.problems).toHaveLength(1);
    expect(readRegisterSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: '  ' }).otlp).toBeUndefined();
  });

  it('shutdown bound from FENRA_SHUTDOWN_TIMEOUT_MILLIS; invalid values reported, default kept', () => {
    expect(readRegisterSettings({ FENRA_SHUTDOWN_TIMEOUT_MILLIS: '1500' }).shutdownTimeoutMillis).toBe(1500);
    for (const bad of ['0', '-5', '2.5', 'soon']) {
      const s = readRegisterSettings({ FENRA_SHUTDOWN_TIMEOUT_MILLIS: bad });
      expect(s.shutdownTimeoutMillis).toBe(DEFAULT_SHUTDOWN_TIMEOUT_MILLIS);
      expect(s.problems[0]).toContain('FENRA_SHUTDOWN_TIMEOUT_MILLIS');
    }
  });

  it('propagators, resource detectors and the log level from the OTEL_* variables', () => {
    const s = readRegisterSettings({
      OTEL_PROPAGATORS: 'tracecontext,baggage,tracecontext',
      OTEL_NODE_RESOURCE_DETECTORS: 'env,host',
      OTEL_LOG_LEVEL: 'debug',
    });
    expect(s).toMatchObject({
      propagators: ['tracecontext', 'baggage'],
      resourceDetectors: ['env', 'host'],
      logLevel: 'debug',
      problems: [],
    });
    expect(readRegisterSettings({ OTEL_PROPAGATORS: 'none' }).propagators).toEqual([]);
    expect(readRegisterSettings({ OTEL_NODE_RESOURCE_DETECTORS: 'none' }).resourceDetectors).toEqual([]);
    expect(readRegisterSettings({ OTEL_NODE_RESOURCE_DETECTORS: 'all' }).resourceDetectors).toEqual([
      'env',
      'process',
      'host',
      'os',
      'serviceinstance',
    ]);
    const odd = readRegisterSettings({ OTEL_PROPAGATORS: 'b3,baggage', OTEL_NODE_RESOURCE_DETECTORS: 'gcp' });
    expect(odd.propagators).toEqual(['baggage']);
    expect(odd.resourceDetectors).toEqual([]);
    expect(odd.problems).toHaveLength(2);
  });

  it('FENRA_ESM_HOOK: true or false forces the hook; empty is unset; anything else is reported and ignored', () => {
    expect(readRegisterSettings({ FENRA_ESM_HOOK: 'TRUE' }).esmHook).toBe(true);
    expect(readRegisterSettings({ FENRA_ESM_HOOK: 'false' }).esmHook).toBe(false);
    expect(readRegisterSettings({ FENRA_ESM_HOOK: '' })).toMatchObject({ esmHook: undefined, problems: [] });
    const odd = readRegisterSettings({ FENRA_ESM_HOOK: '1' });
    expect(odd.esmHook).toBeUndefined();
    expect(odd.problems).toEqual([
      'Ignoring FENRA_ESM_HOOK value "1": expected true or false (any other value means false); using the default instead',
    ]);
  });

  it('a malformed OTLP endpoint turns the OTLP export off and says so, naming the variable', () => {
    const s = readRegisterSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' });
    expect(s.otlp).toBeUndefined();
    expect(s.problems).toHaveLength(1);
    expect(s.problems[0]).toContain('OTEL_EXPORTER_OTLP_ENDPOINT value "collector:4318" is not valid');
    const traces = readRegisterSettings({
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'htps//c/v1/traces',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
    });
    expect(traces.otlp).toBeUndefined();
    expect(traces.problems[0]).toContain('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  });
});

describe('resolveRegisterConfig: the processor configuration, resolved once', () => {
  it('reads the FENRA_* variables and names settings by their variables only', () => {
    const r = resolveRegisterConfig({ FENRA_API_KEY: 'k', FENRA_BILLABLE_CUSTOMER_ID: 'acme' });
    expect(r.processor).toMatchObject({ apiKey: 'k', billableCustomerId: 'acme', disabled: false });
    expect(r.processor.settingNames.apiKey).toBe('FENRA_API_KEY');
    expect(r.processorProblems).toEqual([]);
  });

  it('a malformed FENRA_ENDPOINT: the SDK starts, the processor is disabled, one error names the variable', () => {
    const r = resolveRegisterConfig({ FENRA_API_KEY: 'k', FENRA_ENDPOINT: 'htps//x' });
    expect(r.settings.disabled).toBe(false);
    expect(r.processor).toMatchObject({ disabled: true, disabledBy: 'invalid_configuration' });
    expect(r.processorProblems).toHaveLength(1);
    expect(r.processorProblems[0]).toMatchObject({ level: 'error', code: 'FENRA_INVALID_ENV' });
    expect(r.processorProblems[0]!.message).toContain('FENRA_ENDPOINT value "htps//x" is not valid');
    expect(r.processorProblems[0]!.message).not.toContain('option');
  });

  it('FENRA_DISABLED=1 is not true: reported once, as the processor reads it', () => {
    const r = resolveRegisterConfig({ FENRA_DISABLED: '1' });
    expect(r.settings.disabled).toBe(false);
    expect(r.processorProblems.map((p) => p.message)).toEqual([
      'Ignoring FENRA_DISABLED value "1": expected true or false (any other value means false); using the default instead',
    ]);
    expect(r.settings.problems).toEqual([]);
  });
});
