/**
 * Startup cost of the zero-code register entry: wall time of `node --import <dist/register.js>
 * app.mjs` and of `node app.mjs`, for an app that imports `openai` and exits (so the ESM loader
 * hook, the SDK and the instrumentations are all on the path), and the same for a CommonJS app
 * under `--require`. Every variant runs alternately in the same run; each figure is a median,
 * the added time their difference. Uses the built dist (`npm run build` first; built here when
 * missing). Run: npx tsx bench/register.ts
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { ROOT } from './util.js';

const REPETITIONS = 15;

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

/** The startup figures of one run: each median, ms. */
export interface RegisterStartup {
  /** `node app.mjs` (an ES module app that imports `openai`). */
  register_plain_ms: number;
  /** `node --import @fenra/otel/register app.mjs`. */
  register_with_ms: number;
  /** The difference: what the register entry adds. */
  register_startup_ms: number;
  /** The same for a CommonJS app (`--require`, no ESM loader hook). */
  register_cjs_plain_ms: number;
  register_cjs_with_ms: number;
  register_cjs_startup_ms: number;
}

const round = (ms: number): number => Math.round(ms * 10) / 10;

export async function benchRegister(): Promise<RegisterStartup> {
  // `npm run bench` builds into .tmp-bench-dist (fresh); a lone run uses dist.
  const benchBuild = join(ROOT, '.tmp-bench-dist/register.js');
  const register = existsSync(benchBuild) ? benchBuild : join(ROOT, 'dist/register.js');
  const registerCjs = register.replace(/\.js$/, '.cjs');
  if (!existsSync(register)) {
    execFileSync(process.execPath, [join(ROOT, 'node_modules/tsup/dist/cli-default.js'), '--silent'], {
      cwd: ROOT,
    });
  }
  // The app lives inside the repository so that `openai` resolves from its node_modules.
  const dir = mkdtempSync(join(ROOT, '.tmp-bench-register-'));
  const app = join(dir, 'app.mjs');
  const appCjs = join(dir, 'app.cjs');
  writeFileSync(app, "import OpenAI from 'openai';\nnew OpenAI({ apiKey: 'sk-bench' });\n");
  writeFileSync(appCjs, "const OpenAI = require('openai');\nnew OpenAI({ apiKey: 'sk-bench' });\n");
  const env: NodeJS.ProcessEnv = { PATH: process.env['PATH'], FENRA_API_KEY: 'bench-key' };
  const variants = {
    plain: [app],
    with: ['--import', pathToFileURL(register).href, app],
    cjsPlain: [appCjs],
    cjsWith: ['--require', registerCjs, appCjs],
  };
  try {
    // Warm the file-system cache once.
    for (const args of Object.values(variants)) await timeRun(args, env);
    const times: Record<keyof typeof variants, number[]> = { plain: [], with: [], cjsPlain: [], cjsWith: [] };
    // Alternated, so that a busy moment of the machine weighs on every variant alike.
    for (let i = 0; i < REPETITIONS; i++) {
      for (const [name, args] of Object.entries(variants) as [keyof typeof variants, string[]][]) {
        times[name].push(await timeRun(args, env));
      }
    }
    const m = (name: keyof typeof variants): number => median(times[name]);
    return {
      register_plain_ms: round(m('plain')),
      register_with_ms: round(m('with')),
      register_startup_ms: round(m('with') - m('plain')),
      register_cjs_plain_ms: round(m('cjsPlain')),
      register_cjs_with_ms: round(m('cjsWith')),
      register_cjs_startup_ms: round(m('cjsWith') - m('cjsPlain')),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(JSON.stringify(await benchRegister()));
}
