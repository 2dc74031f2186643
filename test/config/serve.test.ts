import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveDataDir, resolveServeConfig } from '../../src/config/serve.js';

describe('resolveServeConfig', () => {
  it('config file: sizes in bytes under their own names, objects for maps; a size in MiB is named', () => {
    const { config, problems } = resolveServeConfig({
      flags: {},
      env: {},
      file: {
        spoolMaxBytes: 536870912,
        maxInflightBytes: 64 * 1024 * 1024,
        drainMillis: 0,
        forwardHeaders: { 'x-tenant': 'a b' },
        azureDeployments: { prod: 'gpt-4o' },
        customerIdKeys: ['org.id'],
        receiverToken: 'tok',
      },
    });
    expect(problems).toEqual([]);
    expect(config).toMatchObject({
      spoolMaxBytes: 512 * 1024 * 1024,
      forwardHeaders: { 'x-tenant': 'a b' },
      azureDeployments: { prod: 'gpt-4o' },
      customerIdKeys: ['org.id'],
      receiverToken: 'tok',
    });
    expect(resolveServeConfig({ flags: {}, env: {}, file: { spoolMaxMb: 512 } }).problems).toEqual([
      "config file: unknown setting 'spoolMaxMb' (did you mean 'spoolMaxBytes', in bytes?)",
    ]);
  });

  it('config file: every value of the wrong type is an error naming its key (the secret is not echoed)', () => {
    const { problems } = resolveServeConfig({
      flags: {},
      env: {},
      file: {
        receiverToken: 123,
        apiKey: true,
        forwardHeaders: 5,
        spoolMaxBytes: '512',
        traceWaitMillis: 1.5,
        port: '4318',
        host: 7,
        customerIdKeys: [1],
        azureDeployments: { a: 1 },
      },
    });
    const text = problems.join('\n');
    for (const key of [
      'receiverToken',
      'apiKey',
      'forwardHeaders',
      'spoolMaxBytes',
      'traceWaitMillis',
      'port',
      'host',
      'customerIdKeys',
      'azureDeployments',
    ])
      expect(text).toContain(`config file '${key}'`);
    expect(problems).toHaveLength(9);
    expect(text).not.toContain('123');
  });

  it('flags beat environment variables, which beat the config file, which beats the defaults', () => {
    const { config, problems } = resolveServeConfig({
      flags: { port: '9000' },
      env: { FENRA_SERVE_PORT: '9001', FENRA_SERVE_HOST: '0.0.0.0', FENRA_API_KEY: 'env-key' },
      file: { port: 9002, host: '10.0.0.1', traceWaitMillis: 1234, spoolDir: '/var/spool' },
    });
    expect(problems).toEqual([]);
    expect(config).toMatchObject({
      port: 9000,
      host: '0.0.0.0',
      traceWaitMillis: 1234,
      spoolDir: '/var/spool',
      apiKey: 'env-key',
    });
    expect(config.maxBodyBytes).toBe(20 * 1024 * 1024);
    // Memory bounds by default: one request inflated, and all requests together.
    expect(config.maxDecompressedBytes).toBe(20 * 1024 * 1024);
    expect(config.maxInflightBytes).toBe(40 * 1024 * 1024);
    expect(config.maxConnections).toBe(512);
  });
});

describe('resolveServeConfig: one definition behind serve and the library', () => {
  it('a malformed URL from any source is a problem naming that source', () => {
    const file = resolveServeConfig({ flags: {}, env: {}, file: { endpoint: 'htps//x', forward: 'c:4318' } });
    expect(file.problems).toEqual([
      "config file 'endpoint': expected an http(s) URL, got 'htps//x'",
      "config file 'forward': expected an http(s) URL, got 'c:4318'",
    ]);
    expect(resolveServeConfig({ flags: {}, env: { FENRA_ENDPOINT: 'htps//x' } }).problems).toEqual([
      "FENRA_ENDPOINT: expected an http(s) URL, got 'htps//x'",
    ]);
  });

  it('hands the delivery pipeline its settings, resolved, named as serve names them', () => {
    const { config, problems } = resolveServeConfig({
      flags: { 'batch-size': '7', 'flush-ms': '20', 'request-timeout-ms': '60000' },
      env: { FENRA_API_KEY: 'k', FENRA_ENDPOINT: 'http://127.0.0.1:9/x', FENRA_MAX_QUEUE_SIZE: '70' },
    });
    expect(problems).toEqual([]);
    expect(config.delivery).toEqual({
      endpoint: 'http://127.0.0.1:9/x',
      apiKey: 'k',
      disabled: false,
      maxExportBatchSize: 7,
      scheduledDelayMillis: 20,
      maxQueueSize: 70,
      // Not set: 30000, or the request timeout when that is larger (as before).
      exportTimeoutMillis: 60_000,
      requestTimeoutMillis: 60_000,
      concurrencyLimit: 2,
      settingNames: {
        apiKey: '--api-key-file or FENRA_API_KEY',
        endpoint: '--endpoint or FENRA_ENDPOINT',
        maxQueueSize: '--max-queue or FENRA_MAX_QUEUE_SIZE',
        exportTimeoutMillis: '--export-timeout-ms or FENRA_EXPORT_TIMEOUT_MILLIS',
      },
    });
    const set = resolveServeConfig({ flags: {}, env: { FENRA_EXPORT_TIMEOUT_MILLIS: '5000' } }).config;
    expect(set.delivery.exportTimeoutMillis).toBe(5_000);
  });

  it('a batch larger than the queue is cut to it, with a warning naming both settings as given', () => {
    const r = resolveServeConfig({ flags: { 'batch-size': '500' }, env: {}, file: { maxQueueSize: 100 } });
    expect(r.problems).toEqual([]);
    expect(r.config.delivery.maxExportBatchSize).toBe(100);
    expect(r.warnings).toEqual([
      "--batch-size (500) is larger than config file 'maxQueueSize' (100); using 100",
    ]);
  });

  it('reads secrets from the files the flags name, never the path itself', () => {
    const { config } = resolveServeConfig({
      flags: { 'api-key-file': '/run/secrets/fenra', 'receiver-token-file': '/run/secrets/token' },
      env: { FENRA_API_KEY: 'env-key' },
      apiKeyFromFile: ' file-key\n',
      receiverTokenFromFile: 'tok',
    });
    expect(config.apiKey).toBe('file-key');
    expect(config.receiverToken).toBe('tok');
    const blank = resolveServeConfig({ flags: {}, env: { FENRA_API_KEY: '  ' } });
    expect(blank.problems).toEqual([]);
    expect(blank.config.apiKey).toBeUndefined(); // local mode, as before
  });
});

describe('resolveDataDir', () => {
  it('uses --data-dir, else FENRA_DATA_DIR, else .fenra in the working directory', () => {
    expect(resolveDataDir(undefined, { FENRA_DATA_DIR: '/tmp/fenra-data' })).toBe('/tmp/fenra-data');
    expect(resolveDataDir('/tmp/flag', { FENRA_DATA_DIR: '/tmp/fenra-data' })).toBe('/tmp/flag');
    expect(resolveDataDir(undefined, {})).toBe(join(process.cwd(), '.fenra'));
  });
});
