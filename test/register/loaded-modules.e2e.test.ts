/**
 * What loading costs: a setup-1 app that imports `@fenra/otel` loads none of the packages only
 * the register entry needs (the AWS SDK instrumentation, the OTLP exporters, protobufjs), and
 * neither entry loads what start-up does not need (undici before the first request, the price
 * catalog before the first call, the OTLP exporters unless an OTLP endpoint is set). Observed in
 * child processes: a resolve hook records every ES module, require.cache every CommonJS one.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, runNode } from './run-node.js';

beforeAll(ensureBuilt, 120_000);
const dir = mkdtempSync(join(tmpdir(), 'fenra-loads-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const RECORD = ['--import', './test/register/apps/loads/record-loads.mjs'];
let n = 0;

/** The packages (under node_modules) a run loaded; `files`: every module it loaded. */
async function packagesLoaded(
  args: string[],
  env: Record<string, string> = {},
  files: string[] = [],
): Promise<Set<string>> {
  const file = join(dir, `loads-${n++}.txt`);
  const r = await runNode([...RECORD, ...args], { LOADS_FILE: file, FENRA_API_KEY: 'k', ...env });
  expect(r.code, r.stderr).toBe(0);
  const out = new Set<string>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    files.push(decodeURIComponent(line));
    const m = /node_modules\/((@[^/]+\/)?[^/]+)\//.exec(decodeURIComponent(line));
    if (m) out.add(m[1]!);
  }
  return out;
}

const REGISTER_ONLY = [
  '@opentelemetry/instrumentation-aws-sdk',
  '@opentelemetry/instrumentation-openai',
  '@opentelemetry/exporter-trace-otlp-proto',
  '@opentelemetry/exporter-trace-otlp-http',
  '@opentelemetry/otlp-exporter-base',
  'protobufjs',
  '@opentelemetry/sdk-trace-node',
];
/** Bundled into the register entry (tsup.config.ts): never loaded as packages by it. */
const BUNDLED_IN_REGISTER = [
  '@opentelemetry/instrumentation-aws-sdk',
  '@opentelemetry/instrumentation-openai',
  '@opentelemetry/instrumentation',
  '@opentelemetry/sdk-trace-node',
  '@opentelemetry/sdk-trace-base',
  '@opentelemetry/core',
  '@opentelemetry/resources',
  '@opentelemetry/semantic-conventions',
  'zod',
];
/** Loaded when first needed: the first request, the first price. */
const LAZY = ['undici', '@pydantic/genai-prices'];

describe('modules loaded at start-up', () => {
  it('setup 1 (ESM): importing @fenra/otel and building the processor loads no register-only package', async () => {
    const loaded = await packagesLoaded(['test/register/apps/loads/setup-1.mjs']);
    expect(loaded.has('@opentelemetry/api')).toBe(true); // the recording sees packages
    for (const p of [...REGISTER_ONLY, ...LAZY]) expect(loaded.has(p), p).toBe(false);
  });

  it('setup 1 (CommonJS): the same', async () => {
    const loaded = await packagesLoaded(['test/register/apps/loads/setup-1.cjs']);
    expect(loaded.has('@opentelemetry/api')).toBe(true);
    for (const p of [...REGISTER_ONLY, ...LAZY]) expect(loaded.has(p), p).toBe(false);
  });

  it('the register entry: its SDK from its own file, no OTLP exporter, undici or price catalog yet', async () => {
    for (const args of [
      ['--import', './dist/register.js', 'test/register/apps/loads/noop.mjs'],
      ['--require', './dist/register.cjs', 'test/register/apps/loads/noop.cjs'],
    ]) {
      const files: string[] = [];
      const loaded = await packagesLoaded(args, {}, files);
      // zod (bundled beside the entry) waits for the first transaction or options to check.
      expect(files.some((f) => f.endsWith('/dist/register.js') || f.endsWith('/dist/register.cjs'))).toBe(
        true,
      );
      expect(files.filter((f) => f.includes('register-zod'))).toEqual([]);
      // Outside the bundle: the app's API (one set of globals) and the module hooks the
      // loader and the instrumentations share.
      for (const p of ['@opentelemetry/api', 'require-in-the-middle']) expect(loaded.has(p), p).toBe(true);
      for (const p of [
        ...BUNDLED_IN_REGISTER,
        '@opentelemetry/exporter-trace-otlp-proto',
        'protobufjs',
        ...LAZY,
      ])
        expect(loaded.has(p), `${args[0]} ${p}`).toBe(false);
    }
  });

  it('the register entry loads the OTLP exporter when an OTLP endpoint is set', async () => {
    const loaded = await packagesLoaded(
      ['--import', './dist/register.js', 'test/register/apps/loads/noop.mjs'],
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1',
      },
    );
    expect(loaded.has('@opentelemetry/exporter-trace-otlp-proto')).toBe(true);
  });
});

describe('the ESM loader hook', () => {
  it("runs in the application's thread where Node supports synchronous hooks, else on a loader thread", async () => {
    const r = await runNode(['--import', './dist/register.js', 'test/register/apps/loads/noop.mjs'], {
      FENRA_API_KEY: 'k',
      OTEL_LOG_LEVEL: 'debug',
    });
    expect(r.code).toBe(0);
    // import-in-the-middle's synchronous hooks: Node 22.22.3+, 24.11.1+, 25.1+ (module.registerHooks).
    const [major, minor, patch] = process.versions.node.split('.').map(Number) as [number, number, number];
    const inThread =
      major >= 26 ||
      (major === 25 && minor >= 1) ||
      (major === 24 && (minor > 11 || (minor === 11 && patch >= 1))) ||
      (major === 22 && (minor > 22 || (minor === 22 && patch >= 3)));
    expect(r.stdout + r.stderr).toContain(`ESM loader hook ${inThread ? 'in-thread' : 'loader-thread'}`);
  });
});
