import type { ChildProcess } from 'node:child_process';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Flags that load the register entry from source (no build). */
export const SOURCE_REGISTER = ['--import', 'tsx', '--import', './src/register.ts'];

export interface NodeRun {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves at exit: the code, or the signal that ended the process. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves when stdout contains `text`. */
  waitForStdout(text: string): Promise<void>;
}

/** The parent's environment without any FENRA_*, OTEL_*, OPENAI_* or NODE_OPTIONS, plus `env`. */
export function cleanEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(FENRA_|OTEL_|OPENAI_|ANTHROPIC_)/.test(k) || k === 'NODE_OPTIONS') continue;
    out[k] = v;
  }
  return { ...out, ...env };
}

/** Spawns `node <args>` in the repository root. */
export function startNode(args: readonly string[], env: Record<string, string>): NodeRun {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: cleanEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const waiters: { text: string; resolve: () => void }[] = [];
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (out.includes(waiters[i]!.text)) waiters.splice(i, 1)[0]!.resolve();
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitForStdout: (text) =>
      out.includes(text)
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            waiters.push({ text, resolve });
            void exited.then(() => reject(new Error(`exited before printing "${text}": ${err}`)));
          }),
  };
}

/** Runs `node <args>` to its end. */
export async function runNode(
  args: readonly string[],
  env: Record<string, string>,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  const run = startNode(args, env);
  const end = await run.exited;
  return { ...end, stdout: run.stdout(), stderr: run.stderr() };
}

/**
 * Builds the package when its bundles are missing (`npm test` builds first: pretest). Under a
 * lock, so that two test files never build (and clean dist) at the same time.
 */
export function ensureBuilt(): void {
  const built = (): boolean =>
    ['dist/register.js', 'dist/register.cjs', 'dist/index.js', 'dist/index.cjs'].every((f) =>
      existsSync(join(ROOT, f)),
    );
  if (built()) return;
  const build = `test -f dist/register.js -a -f dist/register.cjs -a -f dist/index.js -a -f dist/index.cjs || "${process.execPath}" node_modules/tsup/dist/cli-default.js --silent`;
  execFileSync('flock', ['/tmp/fenra-otel-test-build.lock', 'sh', '-c', build], {
    cwd: ROOT,
    stdio: 'ignore',
  });
}

/**
 * The one info line the register entry prints at its default level once Fenra accepted the
 * first transactions (on standard error).
 */
export const BILLING_WORKS =
  /^@fenra\/otel\/delivery Billing works: Fenra \([^)]*\) accepted the first \d+ transaction\(s\)\. Nothing more is logged while it keeps working\.\n/m;

/** Standard error without the "billing works" line: what else the run printed. */
export function withoutBillingWorks(stderr: string): string {
  return stderr.replace(BILLING_WORKS, '');
}

/** A run's result with the "billing works" line taken out of its standard error. */
export function quiet<T extends { stderr: string }>(r: T): T {
  return { ...r, stderr: withoutBillingWorks(r.stderr) };
}
