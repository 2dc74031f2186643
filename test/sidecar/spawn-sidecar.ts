import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Spawns `fenra-otel serve` from the TypeScript sources (`node --import tsx`), so the tests
 * need no build, and waits for its "serving" log line to learn the port.
 */
export interface SpawnedSidecar {
  readonly url: string;
  /** `host:port` of OTLP/gRPC (with `--grpc-port auto`), or undefined when it is off. */
  readonly grpc: string | undefined;
  readonly proc: ChildProcess;
  /** Everything written to stderr so far (JSON log lines). */
  logs(): string;
  /** Resolves with the exit code (or signal) once the process ended. */
  exited: Promise<number | NodeJS.Signals>;
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export async function spawnSidecar(
  args: string[],
  env: Record<string, string> = {},
): Promise<SpawnedSidecar> {
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/serve-entry.ts', '--port', '0', '--grpc-port', '0', ...args],
    {
      cwd: ROOT,
      env: { PATH: process.env['PATH'] ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  const exited = new Promise<number | NodeJS.Signals>((resolve) =>
    proc.once('exit', (code, signal) => resolve(signal ?? code ?? -1)),
  );
  let grpc: string | undefined;
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sidecar did not start:\n${stderr}`)), 15_000);
    proc.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const m = /serving OTLP\/HTTP on (http:\/\/[^/\s]+)\/\S*( and OTLP\/gRPC on (\S+))?/.exec(stderr);
      if (m) {
        grpc = m[3];
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`sidecar exited (${code}) before listening:\n${stderr}`));
    });
  });
  return { url, grpc, proc, logs: () => stderr, exited };
}

/** Polls until `check` holds (no timing assertion: the test's own timeout bounds it). */
export async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 15_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
