import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Flags that load the register entry from source (no build). */
export const SOURCE_REGISTER = ['--import', 'tsx', '--import', './src/register/index.ts'];

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
