import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { SinkStats, SinkUrls } from './sinks.js';

export const ROOT = fileURLToPath(new URL('../', import.meta.url));
export const API_KEY = 'bench-key';
/**
 * The built package the bench measures: its own build (`npm run bench` runs tsup into it), so
 * a concurrent `npm test` rebuilding dist/ cannot swap the code under a running bench.
 */
export const DIST = process.env['FENRA_BENCH_DIST'] ?? `${ROOT}.tmp-bench-dist/`;

export interface Sinks extends SinkUrls {
  stats(): Promise<SinkStats>;
  reset(): Promise<SinkStats>;
  slow(ms: number, n?: number): Promise<SinkStats>;
  close(): void;
}

/** Starts bench/sinks.ts in a child process (its CPU is not ours). */
export async function startSinks(): Promise<Sinks> {
  const proc: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'bench/sinks.ts'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const urls = await new Promise<SinkUrls>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)) as SinkUrls);
    });
    proc.once('exit', (code) => reject(new Error(`sinks exited (${code})`)));
  });
  const get = async (path: string): Promise<SinkStats> => {
    const r = await fetch(`${urls.control}${path}`, { method: 'POST' });
    return (await r.json()) as SinkStats;
  };
  return {
    ...urls,
    stats: () => get('/stats'),
    reset: () => get('/reset'),
    slow: (ms, n = 0) => get(`/slow?ms=${ms}&n=${n}`),
    close: () => {
      proc.kill();
    },
  };
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

export function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * p))] as number;
}

/** CPU µs (user + system) of this process since `start`. */
export function cpuSince(start: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(start);
  return d.user + d.system;
}

/** CPU seconds used so far by another process (Linux /proc). */
export function procCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[11] = utime, fields[12] = stime (after pid and comm), in clock ticks (100 Hz on Linux)
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Current and peak resident set size of a process, MiB (Linux /proc). */
export function procRssMb(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string): number => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

export const round = (x: number, digits = 2): number => Math.round(x * 10 ** digits) / 10 ** digits;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
