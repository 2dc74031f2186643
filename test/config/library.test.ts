import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LibraryMode, ResolvedConfig } from '../../src/config/index.js';
import {
  ConfigurationError,
  DEFAULTS,
  handOver,
  resolveConfig,
  resolveLibraryConfig,
} from '../../src/config/index.js';
import { FenraSpanExporter } from '../../src/otel/span-exporter.js';
import { FenraSpanProcessor } from '../../src/otel/span-processor.js';
import { resetOncePerProcess } from '../../src/internal/process-warning.js';
import type { CapturedDiag } from '../helpers/capture-diag.js';
import { captureDiag } from '../helpers/capture-diag.js';

let logs: CapturedDiag;
beforeEach(() => {
  logs = captureDiag();
  resetOncePerProcess(); // each problem is reported once per process
});
afterEach(() => logs.restore());

describe('resolveConfig', () => {
  it('uses the defaults when nothing is set', () => {
    const c = resolveConfig(undefined, {});
    expect(c).toMatchObject({
      apiKey: undefined,
      endpoint: DEFAULTS.endpoint,
      billableCustomerId: undefined,
      disabled: false,
      maxExportBatchSize: DEFAULTS.maxExportBatchSize,
      scheduledDelayMillis: DEFAULTS.scheduledDelayMillis,
      maxQueueSize: DEFAULTS.maxQueueSize,
      exportTimeoutMillis: DEFAULTS.exportTimeoutMillis,
      requestTimeoutMillis: DEFAULTS.requestTimeoutMillis,
      concurrencyLimit: DEFAULTS.concurrencyLimit,
    });
    expect(DEFAULTS.endpoint).toBe('https://ingest.fenra.io/usage/transactions');
    expect(logs.records).toEqual([]);
  });

  it('reads every FENRA_* variable', () => {
    const c = resolveConfig(
      {},
      {
        FENRA_API_KEY: 'k-env',
        FENRA_ENDPOINT: 'http://127.0.0.1:9/x',
        FENRA_BILLABLE_CUSTOMER_ID: 'acme',
        FENRA_MAX_EXPORT_BATCH_SIZE: '10',
        FENRA_SCHEDULED_DELAY_MILLIS: '250',
        FENRA_MAX_QUEUE_SIZE: '50',
        FENRA_EXPORT_TIMEOUT_MILLIS: '1000',
        FENRA_CUSTOMER_ID_KEYS: ' tenant.id, ,customer ',
      },
    );
    expect(c).toMatchObject({
      apiKey: 'k-env',
      endpoint: 'http://127.0.0.1:9/x',
      billableCustomerId: 'acme',
      maxExportBatchSize: 10,
      scheduledDelayMillis: 250,
      maxQueueSize: 50,
      exportTimeoutMillis: 1000,
      customerIdKeys: ['tenant.id', 'customer'],
      disabled: false,
    });
  });

  it('prefers code over environment', () => {
    const c = resolveConfig(
      { apiKey: 'k-code', maxQueueSize: 7, maxExportBatchSize: 3, disabled: false },
      { FENRA_API_KEY: 'k-env', FENRA_MAX_QUEUE_SIZE: '99', FENRA_DISABLED: 'true' },
    );
    expect(c.apiKey).toBe('k-code');
    expect(c.maxQueueSize).toBe(7);
    expect(c.disabled).toBe(false);
  });

  it.each([
    [{ FENRA_DISABLED: 'true' }, 'FENRA_DISABLED'],
    [{ FENRA_DISABLED: 'TRUE' }, 'FENRA_DISABLED'],
    [{ OTEL_SDK_DISABLED: 'true' }, 'OTEL_SDK_DISABLED'],
    [{ FENRA_DISABLED: 'true', OTEL_SDK_DISABLED: 'true' }, 'FENRA_DISABLED'],
    [{ FENRA_DISABLED: 'false', OTEL_SDK_DISABLED: 'true' }, 'OTEL_SDK_DISABLED'],
  ])('disables from the environment %j', (env, by) => {
    const c = resolveConfig({}, env);
    expect(c.disabled).toBe(true);
    expect(c.disabledBy).toBe(by);
  });

  it.each([
    ['True', true, false],
    ['TRUE', true, false],
    ['false', false, false],
    ['FALSE', false, false],
    ['1', false, true],
    ['yes', false, true],
    ['on', false, true],
  ])('OTEL_SDK_DISABLED=%s follows the OTel spec (only "true" disables)', (value, disabled, warns) => {
    const c = resolveConfig({}, { OTEL_SDK_DISABLED: value });
    expect(c.disabled).toBe(disabled);
    expect(logs.messages('warn').length > 0).toBe(warns);
    if (warns) expect(logs.messages('warn')[0]).toContain('any other value means false');
  });

  it.each(['1', 'yes', 'on'])('FENRA_DISABLED=%s follows the same rule: not disabled, warned', (v) => {
    expect(resolveConfig({}, { FENRA_DISABLED: v }).disabled).toBe(false);
    expect(logs.messages('warn')).toHaveLength(1);
    expect(logs.messages('warn')[0]).toContain(`FENRA_DISABLED value "${v}": expected true or false`);
  });

  it('also emits a bad environment value as a process warning, once per process, when asked', async () => {
    resetOncePerProcess();
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => void warnings.push(w);
    process.on('warning', onWarning);
    try {
      resolveConfig({}, { FENRA_MAX_QUEUE_SIZE: 'lots', FENRA_API_KEY: ' ' }, { processWarnings: true });
      resolveConfig({}, { FENRA_MAX_QUEUE_SIZE: 'lots' }, { processWarnings: true });
      resolveConfig({}, { FENRA_MAX_QUEUE_SIZE: 'many' }); // not asked: diag only
      await new Promise((r) => setImmediate(r));
      const ours = warnings.filter((w) => w.name === 'FenraOtelWarning');
      expect(ours.map((w) => (w as Error & { code: string }).code)).toEqual([
        'FENRA_INVALID_ENV',
        'FENRA_INVALID_ENV',
      ]);
      expect(ours[0]!.message).toContain('FENRA_API_KEY');
      expect(ours[1]!.message).toContain('FENRA_MAX_QUEUE_SIZE value "lots"');
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('disables from code', () => {
    expect(resolveConfig({ disabled: true }, {}).disabledBy).toBe('option');
  });

  it.each([
    ['FENRA_MAX_QUEUE_SIZE', 'lots', 'maxQueueSize', DEFAULTS.maxQueueSize],
    ['FENRA_MAX_QUEUE_SIZE', '-5', 'maxQueueSize', DEFAULTS.maxQueueSize],
    ['FENRA_MAX_EXPORT_BATCH_SIZE', '1.5', 'maxExportBatchSize', DEFAULTS.maxExportBatchSize],
    ['FENRA_SCHEDULED_DELAY_MILLIS', '0', 'scheduledDelayMillis', DEFAULTS.scheduledDelayMillis],
    ['FENRA_EXPORT_TIMEOUT_MILLIS', '5s', 'exportTimeoutMillis', DEFAULTS.exportTimeoutMillis],
    ['FENRA_DISABLED', 'maybe', 'disabled', false],
  ] as const)('warns about %s=%s naming variable and value, and falls back', (name, value, key, expected) => {
    const c = resolveConfig({}, { [name]: value });
    expect(c[key]).toBe(expected);
    const warns = logs.messages('warn');
    expect(warns).toHaveLength(1);
    expect(warns[0]).toContain(name);
    expect(warns[0]).toContain(JSON.stringify(value));
  });

  it('never logs the API key value', () => {
    resolveConfig({}, { FENRA_API_KEY: '   ', FENRA_MAX_QUEUE_SIZE: 'x' });
    const key = 'sk-secret-123';
    resolveConfig({ apiKey: key }, { FENRA_API_KEY: key, FENRA_ENDPOINT: 'nope' });
    expect(logs.messages('warn').some((m) => m.includes('FENRA_API_KEY'))).toBe(true);
    expect(logs.text()).not.toContain(key);
  });

  it('throws one ConfigurationError listing every bad code option', () => {
    let error: unknown;
    try {
      resolveConfig({ maxQueueSize: -1, endpoint: 'not a url', bogus: 1 }, {});
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigurationError);
    const message = (error as Error).message;
    expect(message).toContain('maxQueueSize');
    expect(message).toContain('endpoint');
    expect(message).toContain('bogus');
  });

  it('rejects a meterProvider that is not one', () => {
    expect(() => resolveConfig({ meterProvider: {} }, {})).toThrow(ConfigurationError);
  });

  it('accepts pass-through options for the converter', () => {
    const meterProvider = { getMeter: () => ({}) };
    const c = resolveConfig(
      {
        contextKeys: ['feature'],
        azureDeployments: { prod: 'gpt-4o' },
        priceOverrides: [{ provider: 'openai', model: 'gpt-*', inputPerMTok: 1 }],
        meterProvider,
      },
      {},
    );
    expect(c.contextKeys).toEqual(['feature']);
    expect(c.azureDeployments).toEqual({ prod: 'gpt-4o' });
    expect(c.priceOverrides).toEqual([{ provider: 'openai', model: 'gpt-*', inputPerMTok: 1 }]);
    expect(c.meterProvider).toBe(meterProvider);
  });

  it('clamps a batch size above the queue size, with a warning', () => {
    const c = resolveConfig({ maxExportBatchSize: 500, maxQueueSize: 100 }, {});
    expect(c.maxExportBatchSize).toBe(100);
    expect(logs.messages('warn')).toHaveLength(1);
  });
});

describe('resolveLibraryConfig (pure)', () => {
  it('ignores unset and blank variables and reports nothing', () => {
    const { config, problems } = resolveLibraryConfig(undefined, {
      FENRA_ENDPOINT: '',
      FENRA_MAX_QUEUE_SIZE: '  ',
    });
    expect(problems).toEqual([]);
    expect(config).toMatchObject({ endpoint: DEFAULTS.endpoint, maxQueueSize: DEFAULTS.maxQueueSize });
    expect(logs.records).toEqual([]);
  });

  it('reports a blank API key without a value', () => {
    expect(resolveLibraryConfig(undefined, { FENRA_API_KEY: ' ' }).problems).toEqual([
      {
        level: 'warn',
        code: 'FENRA_INVALID_ENV',
        message: 'Ignoring FENRA_API_KEY: expected a non-empty API key; using the default instead',
        cause: 'env:FENRA_API_KEY=',
      },
    ]);
  });
});

describe('a malformed URL is a configuration error, never a fallback', () => {
  it.each(['htps//x', 'ftp://x', 'ingest.fenra.io/usage/transactions'])(
    'FENRA_ENDPOINT=%s: delivery is disabled, one error names the variable and its value',
    (value) => {
      const c = resolveConfig({ apiKey: 'k' }, { FENRA_ENDPOINT: value });
      expect(c.disabled).toBe(true);
      expect(c.disabledBy).toBe('invalid_configuration');
      const errors = logs.messages('error');
      expect(errors).toHaveLength(1);
      expect(errors[0]).toContain(`FENRA_ENDPOINT value ${JSON.stringify(value)} is not valid`);
      expect(errors[0]).toContain('Nothing is sent');
      expect(errors[0]).toContain('the default is not used instead');
      expect(logs.messages('warn')).toEqual([]);
    },
  );

  it('the processor built on it sends nothing (disabled), and says so once as a process warning', async () => {
    resetOncePerProcess();
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => void warnings.push(w);
    process.on('warning', onWarning);
    try {
      const config = resolveConfig({ apiKey: 'k' }, { FENRA_ENDPOINT: 'htps//x' }, { processWarnings: true });
      const processor = new FenraSpanProcessor(handOver(config));
      expect(processor.stats().delivery.state).toBe('disabled');
      await processor.shutdown();
      await new Promise((r) => setImmediate(r));
      const ours = warnings.filter((w) => w.name === 'FenraOtelWarning');
      expect(ours).toHaveLength(1);
      expect(ours[0]!.message).toContain('FENRA_ENDPOINT');
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('explicitly disabled stays disabled by its own cause', () => {
    const c = resolveConfig({}, { FENRA_DISABLED: 'true', FENRA_ENDPOINT: 'htps//x' });
    expect(c.disabledBy).toBe('FENRA_DISABLED');
  });

  it('the endpoint option: a ConfigurationError at construction, with zod’s readable text', () => {
    expect(() => resolveConfig({ endpoint: 'htps//x' }, {})).toThrow(ConfigurationError);
    expect(() => new FenraSpanProcessor({ endpoint: 'htps//x' })).toThrow(
      /expected an http\(s\) URL\n {2}→ at endpoint/,
    );
    expect(() => new FenraSpanExporter({ endpoint: 'ftp://x' })).toThrow(ConfigurationError);
  });
});

describe('code options are strict', () => {
  it('a misspelt option fails with the prettified zod message naming it', () => {
    let message = '';
    try {
      resolveConfig({ apikey: 'k' }, {});
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigurationError);
      message = (e as Error).message;
    }
    expect(message).toMatch(/^Invalid @fenra\/otel options:\n✖ Unrecognized key: "apikey"/);
  });

  it('traceWaitMillis is an exporter option only', () => {
    expect(resolveConfig({ traceWaitMillis: 0 }, {}, { exporter: true }).traceWaitMillis).toBe(0);
    expect(() => resolveConfig({ traceWaitMillis: 0 }, {})).toThrow(/traceWaitMillis/);
  });
});

describe('one definition per setting, read the same in every mode', () => {
  it('reads FENRA_CONTEXT_KEYS, FENRA_REQUEST_TIMEOUT_MILLIS and FENRA_TRACE_WAIT_MILLIS (as serve does)', () => {
    const c = resolveConfig(
      {},
      {
        FENRA_CONTEXT_KEYS: 'feature, plan',
        FENRA_REQUEST_TIMEOUT_MILLIS: '2500',
        FENRA_TRACE_WAIT_MILLIS: '0',
      },
      { exporter: true },
    );
    expect(c).toMatchObject({
      contextKeys: ['feature', 'plan'],
      requestTimeoutMillis: 2500,
      traceWaitMillis: 0,
    });
  });

  it('names settings as the mode reads them', () => {
    const names = (mode: LibraryMode): ResolvedConfig['settingNames'] =>
      resolveLibraryConfig(undefined, {}, { mode }).config.settingNames;
    expect(names('library')).toEqual({
      apiKey: 'FENRA_API_KEY (or the apiKey option)',
      endpoint: 'FENRA_ENDPOINT (or the endpoint option)',
      maxQueueSize: 'FENRA_MAX_QUEUE_SIZE (or the maxQueueSize option)',
      exportTimeoutMillis: 'FENRA_EXPORT_TIMEOUT_MILLIS (or the exportTimeoutMillis option)',
    });
    expect(names('register')).toEqual({
      apiKey: 'FENRA_API_KEY',
      endpoint: 'FENRA_ENDPOINT',
      maxQueueSize: 'FENRA_MAX_QUEUE_SIZE',
      exportTimeoutMillis: 'FENRA_EXPORT_TIMEOUT_MILLIS',
    });
    expect(names('convert')).toEqual(names('register'));
  });

  it('the batch-above-queue warning names where each value came from', () => {
    resolveConfig({ maxExportBatchSize: 500 }, { FENRA_MAX_QUEUE_SIZE: '100' });
    const warns = logs.messages('warn');
    expect(warns).toHaveLength(1);
    expect(warns[0]).toContain(
      'the maxExportBatchSize option (500) is larger than FENRA_MAX_QUEUE_SIZE (100); using 100',
    );
  });

  it('convert --send has its own queue and delay defaults; its variables still apply', () => {
    expect(resolveLibraryConfig(undefined, {}, { mode: 'convert' }).config).toMatchObject({
      maxQueueSize: 5_000,
      scheduledDelayMillis: 200,
    });
    expect(
      resolveLibraryConfig(undefined, { FENRA_MAX_QUEUE_SIZE: '50' }, { mode: 'convert' }).config
        .maxQueueSize,
    ).toBe(50);
  });
});

describe('reporting', () => {
  it('says each problem once per process, however many processors read the same environment', () => {
    const env = { FENRA_MAX_QUEUE_SIZE: 'lots', FENRA_ENDPOINT: 'htps//x' };
    resolveConfig({}, env);
    resolveConfig({}, env);
    expect(logs.messages('warn')).toHaveLength(1);
    expect(logs.messages('error')).toHaveLength(1);
    resolveConfig({}, { FENRA_MAX_QUEUE_SIZE: 'many' }); // another value: said too
    expect(logs.messages('warn')).toHaveLength(2);
  });
});
