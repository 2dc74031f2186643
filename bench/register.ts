/**
 * Startup cost of the zero-code register entry: wall time of `node --import <dist/register.js>
 * app.mjs` minus `node app.mjs`, for an app that imports `openai` and exits (so the ESM loader
 * hook, the SDK and the instrumentations are all on the path). Both variants run alternately in
 * the same run; the result is the median of each, subtracted. Uses the built dist (`npm run
 * build` first; built here when missing). Run: npx tsx bench/register.ts
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

export async function benchRegister(): Promise<{ register_startup_ms: number }> {
  // `npm run bench` builds into .tmp-bench-dist (fresh); a lone run uses dist.
  const benchBuild = join(ROOT, '.tmp-bench-dist/register.js');
  const register = existsSync(benchBuild) ? benchBuild : join(ROOT, 'dist/register.js');
  if (!existsSync(register)) {
    execFileSync(process.execPath, [join(ROOT, 'node_modules/tsup/dist/cli-default.js'), '--silent'], {
      cwd: ROOT,
    });
  }
  // The app lives inside the repository so that `openai` resolves from its node_modules.
  const dir = mkdtempSync(join(ROOT, '.tmp-bench-register-'));
  const app = join(dir, 'app.mjs');
  writeFileSync(app, "import OpenAI from 'openai';\nnew OpenAI({ apiKey: 'sk-bench' });\n");
  const env: NodeJS.ProcessEnv = { PATH: process.env['PATH'], FENRA_API_KEY: 'bench-key' };
  const plain = [app];
  const withRegister = ['--import', pathToFileURL(register).href, app];
  try {
    // Warm the file-system cache once.
    await timeRun(plain, env);
    await timeRun(withRegister, env);
    const base: number[] = [];
    const reg: number[] = [];
    for (let i = 0; i < REPETITIONS; i++) {
      base.push(await timeRun(plain, env));
      reg.push(await timeRun(withRegister, env));
    }
    return { register_startup_ms: Math.round((median(reg) - median(base)) * 10) / 10 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(JSON.stringify(await benchRegister()));
}
