/**
 * Startup cost of the zero-code register entry: wall time of `node --import <dist/register.js>
 * app.mjs` and of `node app.mjs`, for an app that imports `openai` and exits (so the ESM loader
 * hook, the SDK and the instrumentations are all on the path), and the same for a CommonJS app
 * under `--require`. The reference, measured in the same run: the register entry of `main` as
 * it was when the performance issue (16) was filed, built from git (see REFERENCE_COMMIT), so
 * that the figure is also a ratio that does not depend on how fast or busy this machine is.
 * Every variant runs alternately; each figure is a median, the added time a difference of
 * medians. Uses the built dist (`npm run build` first; built here when missing).
 * Run: npx tsx bench/register.ts
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { ROOT } from './util.js';

const REPETITIONS = 15;
/** `main` when issue 16 was filed (its register entry added 939.5 ms on the machine it was filed on). */
export const REFERENCE_COMMIT = 'fe70a5a';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

async function timeRun(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const t0 = performance.now();
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const ms = performance.now() - t0;
  if (code !== 0 || err !== '') throw new Error(`node ${args.join(' ')} failed (${code}): ${err}`);
  return ms;
}

/**
 * The reference's register entry (ESM path; the CommonJS one beside it), built once from git
 * into `.tmp-bench-ref-<commit>/dist` inside the checkout (so that its packages resolve from
 * the same node_modules). Undefined, with the reason on standard error, where the commit is not
 * available (a tarball, a shallow clone).
 */
export function referenceRegister(): string | undefined {
  const dir = join(ROOT, `.tmp-bench-ref-${REFERENCE_COMMIT}`);
  const built = join(dir, 'dist/register.js');
  if (existsSync(built)) return built;
  try {
    const tar = execFileSync(
      'git',
      ['archive', '--format=tar', REFERENCE_COMMIT, 'src', 'tsup.config.ts', 'package.json', 'tsconfig.json'],
      { cwd: ROOT, maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    execFileSync('tar', ['-x', '-C', dir], { input: tar });
    execFileSync(
      process.execPath,
      [join(ROOT, 'node_modules/tsup/dist/cli-default.js'), '--silent', '--no-dts'],
      {
        cwd: dir,
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    return built;
  } catch (e) {
    process.stderr.write(
      `\nbench: no reference build of ${REFERENCE_COMMIT} (${(e as Error).message.split('\n')[0]})\n`,
    );
    rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
}

/** The startup figures of one run: each median, ms. */
export interface RegisterStartup {
  /** `node app.mjs` (an ES module app that imports `openai`). */
  register_plain_ms: number;
  /** `node --import @fenra/otel/register app.mjs`. */
  register_with_ms: number;
  /** The difference: what the register entry adds. */
  register_startup_ms: number;
  /** The same with the reference's register entry (null: no reference build). */
  register_ref_with_ms: number | null;
  register_ref_startup_ms: number | null;
  /** Added time now / added time of the reference (the target: ≤ 1/3). */
  register_vs_ref: number | null;
  /** The same for a CommonJS app (`--require`, no ESM loader hook). */
  register_cjs_plain_ms: number;
  register_cjs_with_ms: number;
  register_cjs_startup_ms: number;
  register_cjs_ref_startup_ms: number | null;
  register_cjs_vs_ref: number | null;
}

const round = (ms: number, digits = 1): number => Math.round(ms * 10 ** digits) / 10 ** digits;

export async function benchRegister(): Promise<RegisterStartup> {
  // `npm run bench` builds into .tmp-bench-dist (fresh); a lone run uses dist.
  const benchBuild = join(ROOT, '.tmp-bench-dist/register.js');
  const register = existsSync(benchBuild) ? benchBuild : join(ROOT, 'dist/register.js');
  if (!existsSync(register)) {
    execFileSync(process.execPath, [join(ROOT, 'node_modules/tsup/dist/cli-default.js'), '--silent'], {
      cwd: ROOT,
    });
  }
  const reference = referenceRegister();
  // The app lives inside the repository so that `openai` resolves from its node_modules.
  const dir = mkdtempSync(join(ROOT, '.tmp-bench-register-'));
  const app = join(dir, 'app.mjs');
  const appCjs = join(dir, 'app.cjs');
  writeFileSync(app, "import OpenAI from 'openai';\nnew OpenAI({ apiKey: 'sk-bench' });\n");
  writeFileSync(appCjs, "const OpenAI = require('openai');\nnew OpenAI({ apiKey: 'sk-bench' });\n");
  const env: NodeJS.ProcessEnv = { PATH: process.env['PATH'], FENRA_API_KEY: 'bench-key' };
  const cjs = (esm: string): string => esm.replace(/\.js$/, '.cjs');
  const variants: Record<string, string[]> = {
    plain: [app],
    with: ['--import', pathToFileURL(register).href, app],
    cjsPlain: [appCjs],
    cjsWith: ['--require', cjs(register), appCjs],
  };
  if (reference !== undefined) {
    variants['ref'] = ['--import', pathToFileURL(reference).href, app];
    variants['cjsRef'] = ['--require', cjs(reference), appCjs];
  }
  try {
    // Warm the file-system cache once.
    for (const args of Object.values(variants)) await timeRun(args, env);
    const times: Record<string, number[]> = {};
    // Alternated, so that a busy moment of the machine weighs on every variant alike.
    for (let i = 0; i < REPETITIONS; i++) {
      for (const [name, args] of Object.entries(variants))
        (times[name] ??= []).push(await timeRun(args, env));
    }
    const m = (name: string): number => median(times[name]!);
    const added = m('with') - m('plain');
    const cjsAdded = m('cjsWith') - m('cjsPlain');
    const refAdded = reference === undefined ? null : m('ref') - m('plain');
    const cjsRefAdded = reference === undefined ? null : m('cjsRef') - m('cjsPlain');
    return {
      register_plain_ms: round(m('plain')),
      register_with_ms: round(m('with')),
      register_startup_ms: round(added),
      register_ref_with_ms: reference === undefined ? null : round(m('ref')),
      register_ref_startup_ms: refAdded === null ? null : round(refAdded),
      register_vs_ref: refAdded === null ? null : round(added / refAdded, 2),
      register_cjs_plain_ms: round(m('cjsPlain')),
      register_cjs_with_ms: round(m('cjsWith')),
      register_cjs_startup_ms: round(cjsAdded),
      register_cjs_ref_startup_ms: cjsRefAdded === null ? null : round(cjsRefAdded),
      register_cjs_vs_ref: cjsRefAdded === null ? null : round(cjsAdded / cjsRefAdded, 2),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(JSON.stringify(await benchRegister()));
}
