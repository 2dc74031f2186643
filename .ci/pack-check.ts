/**
 * The package as a user gets it: `npm pack` of this checkout, installed into an empty project
 * (from the npm registry only), then checked the way a user meets it:
 *
 * - no install script ships (npm warns about none, runs none);
 * - `import` and `require` of `@fenra/otel` and `@fenra/otel/tools`, and of the register entry;
 * - the types resolve for a small TypeScript consumer (ES module and CommonJS);
 * - the README's setup-1 snippet, as written, bills an OpenAI call (a fake OpenAI and a fake
 *   Fenra on loopback) and the script exits with it delivered; so does the same app zero-code,
 *   under `--import @fenra/otel/register`, and without a key into the local sink (which checks
 *   records with the zod the register entry loads at that first use, shipped beside it);
 * - `fenra-otel serve` bills a trace sent over OTLP/gRPC (its bundled gRPC server, raw HTTP/2
 *   from here: no gRPC library in the app).
 *
 * Run: `npx tsx .ci/pack-check.ts` (CI: .ci/run). Exits non-zero, saying why, on any failure.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { connect } from 'node:http2';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFakeOpenAiServer } from '../test/helpers/fake-openai-server.js';
import { startIngestServer } from '../test/helpers/ingest-server.js';
import { SNIPPET_APP, setupOneSnippet } from '../test/readme/snippet.js';
import { readableSpans, recordedFixtures } from '../test/sidecar/otlp-replay.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'fenra-pack-check-'));
const app = join(work, 'app');
let failed = false;

function step(name: string): void {
  process.stdout.write(`\n-- ${name}\n`);
}
function check(ok: boolean, what: string, detail = ''): void {
  process.stdout.write(`${ok ? 'ok  ' : 'FAIL'} ${what}${ok || !detail ? '' : `\n${detail}`}\n`);
  if (!ok) failed = true;
}
function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env) {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

try {
  step('npm pack');
  const packed = run(npm, ['pack', '--pack-destination', work, '--loglevel=warn'], ROOT);
  check(packed.code === 0, 'npm pack', packed.stderr);
  const tarball = join(work, packed.stdout.trim().split('\n').at(-1)!);
  const pkg = JSON.parse(
    execFileSync('tar', ['-xzOf', tarball, 'package/package.json'], { encoding: 'utf8' }),
  ) as {
    scripts?: Record<string, string>;
  };
  const installScripts = ['preinstall', 'install', 'postinstall', 'prepare'].filter((s) => pkg.scripts?.[s]);
  check(
    installScripts.length === 0,
    'no install script in the packed package.json',
    installScripts.join(', '),
  );
  const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n');
  check(!files.some((f) => f.endsWith('.map')), 'no source maps shipped');
  check(!files.includes('package/dist/cli.cjs'), 'no CommonJS build of the CLI shipped');
  check(files.includes('package/LICENSE'), 'LICENSE shipped');

  step('install into an empty project');
  run('mkdir', ['-p', app], work);
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({ name: 'pack-check-app', private: true, type: 'module' }),
  );
  const install = run(
    npm,
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--loglevel=warn',
      tarball,
      '@opentelemetry/api@^1.9',
      '@opentelemetry/sdk-node@^0.223',
      '@opentelemetry/instrumentation-openai@^0.21',
      'openai@^6',
      'typescript@~5.9',
      '@types/node@^20',
    ],
    app,
  );
  check(install.code === 0, 'npm install', install.stderr);
  // npm names every package with an install script it did not run. Ours (and a dependency of
  // ours that has one itself) fail the check; one deeper in the tree is named with the chain
  // that brings it, for the dependency's owner to deal with.
  const flagged = [
    ...(install.stdout + install.stderr).matchAll(/install-scripts\s+(\S+?)@(\d\S*) \(([^)]*)\)/g),
  ].map((m) => ({ name: m[1]!, script: m[3]! }));
  const direct = new Set(Object.keys((pkg as { dependencies?: Record<string, string> }).dependencies ?? {}));
  for (const f of flagged) {
    const chain = run(npm, ['ls', f.name, '--all', '--parseable=false'], app).stdout.trim();
    const ours = f.name === '@fenra/otel' || direct.has(f.name);
    check(
      !ours,
      `no install script from @fenra/otel or its direct dependencies (${f.name}: ${f.script})`,
      chain,
    );
    if (!ours)
      process.stdout.write(
        `NOTE an install-script warning comes from ${f.name} (${f.script}), through:\n${chain}\n`,
      );
  }
  check(
    flagged.length > 0 || !/install-scripts/.test(install.stdout + install.stderr),
    'the install output was read (every install-script warning named)',
    install.stdout + install.stderr,
  );

  step('imports');
  const esm = run(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      "import * as m from '@fenra/otel'; import * as t from '@fenra/otel/tools';" +
        "for (const n of ['FenraSpanProcessor','FenraSpanExporter','withFenraContext','flushFenra','ConfigurationError']) if (typeof m[n] !== 'function') throw new Error('missing ' + n);" +
        "for (const n of ['toTransactions','PriceBook','ConversionStage','renderTransaction','spansFromOtlpJson']) if (typeof t[n] !== 'function') throw new Error('missing tools ' + n);" +
        "console.log('esm ok');",
    ],
    app,
  );
  check(esm.stdout.includes('esm ok'), 'import @fenra/otel and @fenra/otel/tools (ES module)', esm.stderr);
  const cjs = run(
    process.execPath,
    [
      '-e',
      "const m = require('@fenra/otel'); const t = require('@fenra/otel/tools');" +
        "if (typeof m.FenraSpanProcessor !== 'function' || typeof t.toTransactions !== 'function') throw new Error('missing');" +
        "console.log('cjs ok');",
    ],
    app,
  );
  check(cjs.stdout.includes('cjs ok'), 'require @fenra/otel and @fenra/otel/tools (CommonJS)', cjs.stderr);
  for (const [flag, name] of [
    ['--import', 'ES module'],
    ['--require', 'CommonJS'],
  ] as const) {
    const r = run(process.execPath, [flag, '@fenra/otel/register', '-e', "console.log('register ok')"], app, {
      ...process.env,
      FENRA_API_KEY: 'k',
      FENRA_ENDPOINT: 'http://127.0.0.1:9/usage/transactions',
    });
    check(
      r.code === 0 && r.stdout.includes('register ok') && r.stderr === '',
      `${flag} @fenra/otel/register (${name})`,
      r.stderr,
    );
  }

  step('types');
  writeFileSync(
    join(app, 'consumer.ts'),
    "import { FenraSpanProcessor, withFenraContext, type FenraOptions, type FenraStats } from '@fenra/otel';\n" +
      "import { PriceBook, toTransactions, type PricedTransaction } from '@fenra/otel/tools';\n" +
      "const options: FenraOptions = { billableCustomerId: 'cus_1', maxQueueSize: 100 };\n" +
      'const p = new FenraSpanProcessor(options);\n' +
      'const s: FenraStats = p.stats();\n' +
      'const n: number = s.delivery.accepted;\n' +
      "const r: Promise<number> = withFenraContext({ billableCustomerId: 'c' }, async () => 1);\n" +
      'const t: PricedTransaction[] = toTransactions([], { pricer: new PriceBook() }).transactions;\n' +
      'export { n, r, t };\n',
  );
  writeFileSync(
    join(app, 'consumer-cjs.cts'),
    "import fenra = require('@fenra/otel');\nexport const p: fenra.FenraSpanProcessor = new fenra.FenraSpanProcessor();\n",
  );
  writeFileSync(
    join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        module: 'nodenext',
        moduleResolution: 'nodenext',
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        types: ['node'],
      },
      files: ['consumer.ts', 'consumer-cjs.cts'],
    }),
  );
  const tsc = run(process.execPath, [join(app, 'node_modules/typescript/bin/tsc'), '-p', '.'], app);
  check(
    tsc.code === 0,
    'types resolve (tsc on an ES module and a CommonJS consumer)',
    tsc.stdout + tsc.stderr,
  );

  step("the README's setup-1 snippet bills a call and exits with it delivered, and zero-code too");
  writeFileSync(
    join(app, 'instrumentation.mjs'),
    setupOneSnippet(readFileSync(join(ROOT, 'README.md'), 'utf8')),
  );
  writeFileSync(join(app, 'app.mjs'), SNIPPET_APP);
  const ingest = await startIngestServer({ apiKey: 'pack-key' });
  const llm = await startFakeOpenAiServer();
  try {
    const env: NodeJS.ProcessEnv = {
      PATH: process.env['PATH'],
      HOME: process.env['HOME'],
      FENRA_API_KEY: 'pack-key',
      FENRA_ENDPOINT: ingest.url,
      OPENAI_BASE_URL: llm.baseUrl,
      OPENAI_API_KEY: 'sk-pack-check',
    };
    const localDir = join(work, 'local-data');
    const { FENRA_API_KEY: _key, ...withoutKey } = env;
    for (const [preload, how] of [
      ['./instrumentation.mjs', 'setup 1'],
      ['@fenra/otel/register', 'zero-code'],
      ['@fenra/otel/register', 'zero-code, local mode'],
    ] as const) {
      const local = how === 'zero-code, local mode';
      const calls = llm.calls.length;
      const accepted = ingest.accepted.length;
      const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, ['--import', preload, 'app.mjs'], {
          cwd: app,
          env: local ? { ...withoutKey, FENRA_DATA_DIR: localDir } : env,
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('close', (code: number | null) => resolve({ code, stdout, stderr }));
      });
      check(
        r.code === 0 && r.stdout.includes('app done'),
        `${how}: the app ran and exited 0`,
        r.stdout + r.stderr,
      );
      check(llm.calls.length === calls + 1, `${how}: one OpenAI call made`, String(llm.calls.length - calls));
      // Local mode: the sink checks each record against the wire schema, with the zod the
      // register entry loads at that first use from the file shipped beside it.
      const customers = local
        ? readFileSync(join(localDir, 'transactions.jsonl'), 'utf8')
            .trim()
            .split('\n')
            .map((l) => (JSON.parse(l) as { transaction: { context: Record<string, unknown> } }).transaction)
            .map((t) => t.context['billable_customer_id'])
        : ingest.accepted.slice(accepted).map((a) => a.transaction.context.billable_customer_id);
      check(
        customers.length === 1 && customers[0] === 'cus_readme',
        local
          ? `${how}: the call written to the local sink, to its customer`
          : `${how}: the call billed to its customer and delivered before exit`,
        JSON.stringify(customers),
      );
      // The register entry says, by default, that it started and where it bills (standard error).
      if (how === 'setup 1') check(r.stderr === '', `${how}: nothing on stderr`, r.stderr);
    }
  } finally {
    await ingest.close();
    await llm.close();
  }

  step('fenra-otel serve bills a trace sent over OTLP/gRPC');
  const fenra = await startIngestServer({ apiKey: 'pack-key' });
  const sidecar = spawn(
    process.execPath,
    [
      join(app, 'node_modules/@fenra/otel/bin/fenra-otel.js'),
      'serve',
      '--port',
      '0',
      '--grpc-port',
      'auto',
      '--flush-ms',
      '50',
      '--trace-wait-ms',
      '200',
    ],
    {
      cwd: app,
      env: {
        PATH: process.env['PATH'],
        HOME: process.env['HOME'],
        FENRA_API_KEY: 'pack-key',
        FENRA_ENDPOINT: fenra.url,
      },
    },
  );
  let log = '';
  sidecar.stderr.on('data', (d: Buffer) => (log += d.toString()));
  try {
    const grpcPort = await new Promise<number | undefined>((resolve) => {
      const t = setTimeout(() => resolve(undefined), 15_000);
      const look = (): void => {
        const m = /OTLP\/gRPC on [^:\s]+:(\d+)/.exec(log);
        if (m) {
          clearTimeout(t);
          resolve(Number(m[1]));
        }
      };
      sidecar.stderr.on('data', look);
      sidecar.on('exit', () => resolve(undefined));
    });
    check(grpcPort !== undefined, 'serve started with its OTLP/gRPC receiver', log);
    if (grpcPort !== undefined) {
      const fixture = recordedFixtures().find((f) => f.name === 'openai-chat')!;
      const message = ProtobufTraceSerializer.serializeRequest(readableSpans(fixture.json))!;
      const status = await grpcExport(grpcPort, Buffer.from(message));
      check(status === '0', 'the Export call answered OK (grpc-status 0)', `grpc-status ${status}\n${log}`);
      const deadline = Date.now() + 15_000;
      while (fenra.accepted.length === 0 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      check(
        fenra.accepted.length === 1,
        'the call billed and delivered to Fenra',
        `${fenra.accepted.length}\n${log}`,
      );
    }
  } finally {
    sidecar.kill('SIGKILL');
    await fenra.close();
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

/** One unary OTLP/gRPC Export over plain HTTP/2 (gRPC framing by hand); resolves with grpc-status. */
function grpcExport(port: number, message: Buffer): Promise<string> {
  return new Promise((resolve) => {
    const session = connect(`http://127.0.0.1:${port}`);
    session.on('error', (e) => resolve(`error: ${e.message}`));
    const frame = Buffer.alloc(5 + message.length);
    frame.writeUInt32BE(message.length, 1); // byte 0: not compressed
    message.copy(frame, 5);
    const req = session.request({
      ':method': 'POST',
      ':path': '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    let status: string | undefined;
    req.on('response', (h) => (status ??= h['grpc-status'] as string | undefined));
    req.on('trailers', (h) => (status = (h['grpc-status'] as string | undefined) ?? status));
    req.on('data', () => undefined);
    req.on('end', () => {
      session.close();
      resolve(status ?? 'none');
    });
    req.on('error', (e) => resolve(`error: ${e.message}`));
    req.end(frame);
  });
}

if (failed) {
  process.stdout.write('\npack check FAILED\n');
  process.exit(1);
}
process.stdout.write('\npack check passed\n');
