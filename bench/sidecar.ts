/**
 * Sidecar throughput: the BUILT `fenra-otel serve` in its own process, fed by another process
 * (bench/sidecar-sender.ts) with OTLP/protobuf requests of 512 spans (256 traces of a server
 * span + one recorded LLM span) over keep-alive loopback connections; it delivers to the light
 * ingest endpoint of bench/sinks.ts. Reports GenAI spans/s answered 200 and then delivered,
 * p50/p99 request latency, the sidecar's CPU per request (from /proc) against the bare
 * protobuf decode of the same payload in this process, and its RSS. Then, with Fenra slowed
 * down (each ingest request delayed), the RSS of a sidecar fed faster than it can deliver.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { toTransactions } from '../src/genai/to-transactions.js';
import { PriceBook } from '../src/pricing/price-book.js';
import { decodeTraceRequest } from '../src/span/otlp-proto.js';
import type { Sinks } from './util.js';
import {
  API_KEY,
  cpuSince,
  DIST,
  median,
  percentile,
  procCpuSeconds,
  procRssMb,
  ROOT,
  round,
  sleep,
} from './util.js';
import { buildSidecarPayload } from './workload.js';

export interface SidecarResult {
  sidecar_genai_spans_per_s: number;
  /** GenAI spans per second of sidecar CPU (the one-core capacity). */
  sidecar_genai_spans_per_cpu_s: number;
  sidecar_vs_bare_decode: number;
  decode_convert_vs_bare_decode: number;
  bare_decode_us_per_request: number;
  sidecar_cpu_us_per_request: number;
  sidecar_p50_ms: number;
  sidecar_p99_ms: number;
  sidecar_rss_mb: number;
  sidecar_delivered: number;
  sidecar_expected: number;
  sidecar_requests_per_1000_tx: number;
  sidecar_bytes_per_1000_tx: number;
  sidecar_rss_mb_overload: number;
  sidecar_overload_429: number;
}

interface SenderResult {
  statuses: Record<string, number>;
  latencies: number[];
  elapsedMs: number;
}

/** CPU µs per call of `fn`, median of blocks of ~200 ms. */
function timePerCall(fn: () => void, blocks = 7): number {
  for (let i = 0; i < 20; i++) fn();
  const out: number[] = [];
  for (let b = 0; b < blocks; b++) {
    const start = process.cpuUsage();
    const t0 = performance.now();
    let n = 0;
    while (performance.now() - t0 < 200) {
      fn();
      n++;
    }
    out.push(cpuSince(start) / n);
  }
  return median(out);
}

export async function startBuiltSidecar(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ proc: ChildProcess; url: string; logs: () => string }> {
  const cli = pathToFileURL(`${DIST}cli.js`).href;
  const proc = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const { main } = await import(${JSON.stringify(cli)}); process.exitCode = await main(process.argv.slice(1));`,
      'serve',
      '--port',
      '0',
      ...args,
    ],
    {
      cwd: ROOT,
      env: { PATH: process.env['PATH'] ?? '', FENRA_API_KEY: API_KEY, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let logs = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sidecar did not start:\n${logs}`)), 15_000);
    proc.stderr!.on('data', (c: Buffer) => {
      logs += c.toString();
      const m = /serving OTLP\/HTTP on (http:\/\/[^/\s]+)\//.exec(logs);
      if (m) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`sidecar exited (${code}):\n${logs}`));
    });
  });
  return { proc, url, logs: () => logs };
}

async function send(
  dir: string,
  url: string,
  payloadFile: string,
  traceIdOffsets: number[],
  durationMs: number,
  concurrency: number,
): Promise<SenderResult> {
  const jobFile = join(dir, `job-${Date.now()}.json`);
  writeFileSync(
    jobFile,
    JSON.stringify({ url: `${url}/v1/traces`, payloadFile, traceIdOffsets, durationMs, concurrency }),
  );
  const proc = spawn(process.execPath, ['--import', 'tsx', 'bench/sidecar-sender.ts', jobFile], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  proc.stdout.on('data', (c: Buffer) => (out += c.toString()));
  const code = await new Promise<number | null>((r) => proc.once('exit', r));
  if (code !== 0) throw new Error(`sender exited ${code}`);
  return JSON.parse(out) as SenderResult;
}

async function stop(proc: ChildProcess): Promise<void> {
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  await Promise.race([exited, sleep(15_000)]);
  if (proc.exitCode === null) proc.kill('SIGKILL');
}

export async function benchSidecar(sinks: Sinks, opts: { durationMs?: number } = {}): Promise<SidecarResult> {
  const durationMs = opts.durationMs ?? 6_000;
  const { payload, traceIdOffsets, genAiSpans } = await buildSidecarPayload();
  const dir = mkdtempSync(join(tmpdir(), 'fenra-bench-'));
  const payloadFile = join(dir, 'payload.bin');
  writeFileSync(payloadFile, payload);
  try {
    // The physical baseline: protobuf decode of the same payload to SpanViews, and decode + convert.
    const pricer = new PriceBook();
    const bare = timePerCall(() => {
      if (decodeTraceRequest(payload).spans.length !== 512) throw new Error('decode');
    });
    const withConvert = timePerCall(() => {
      const r = toTransactions(decodeTraceRequest(payload).spans, { pricer, defaultCustomerId: 'default' });
      if (r.transactions.length !== genAiSpans) throw new Error(`convert gave ${r.transactions.length}`);
    });

    // Throughput.
    const sc = await startBuiltSidecar(['--endpoint', sinks.fastIngest]);
    let result: Omit<SidecarResult, 'sidecar_rss_mb_overload' | 'sidecar_overload_429'>;
    try {
      await send(dir, sc.url, payloadFile, traceIdOffsets, 1_500, 4); // warm-up
      await sleep(1_500);
      await sinks.reset();
      const cpu0 = procCpuSeconds(sc.proc.pid as number);
      const r = await send(dir, sc.url, payloadFile, traceIdOffsets, durationMs, 4);
      const ok = r.statuses['200'] ?? 0;
      const expected = ok * genAiSpans;
      const deadline = Date.now() + 20_000;
      let st = await sinks.stats();
      while (st.fastDistinct < expected && Date.now() < deadline) {
        await sleep(100);
        st = await sinks.stats();
      }
      const cpu = procCpuSeconds(sc.proc.pid as number) - cpu0;
      const rss = procRssMb(sc.proc.pid as number);
      const cpuPerRequest = (cpu * 1e6) / ok;
      result = {
        sidecar_genai_spans_per_s: Math.round(expected / (r.elapsedMs / 1000)),
        sidecar_genai_spans_per_cpu_s: Math.round(genAiSpans / (cpuPerRequest / 1e6)),
        sidecar_vs_bare_decode: round(cpuPerRequest / bare),
        decode_convert_vs_bare_decode: round(withConvert / bare),
        bare_decode_us_per_request: Math.round(bare),
        sidecar_cpu_us_per_request: Math.round(cpuPerRequest),
        sidecar_p50_ms: round(percentile(r.latencies, 0.5)),
        sidecar_p99_ms: round(percentile(r.latencies, 0.99)),
        sidecar_rss_mb: round(rss.peak, 1),
        sidecar_delivered: st.fastDistinct,
        sidecar_expected: expected,
        sidecar_requests_per_1000_tx: round((st.fastRequests / st.fastTransactions) * 1000, 1),
        sidecar_bytes_per_1000_tx: Math.round((st.fastBytes / st.fastTransactions) * 1000),
      };
    } finally {
      await stop(sc.proc);
    }

    // Overload: Fenra answers every request after 250 ms; the sender keeps going.
    const over = await startBuiltSidecar(['--endpoint', sinks.fastIngest]);
    try {
      await sinks.slow(250);
      let peak = 0;
      const sampler = setInterval(() => {
        try {
          peak = Math.max(peak, procRssMb(over.proc.pid as number).rss);
        } catch {
          // process gone
        }
      }, 100);
      const r = await send(dir, over.url, payloadFile, traceIdOffsets, durationMs, 4);
      clearInterval(sampler);
      peak = Math.max(peak, procRssMb(over.proc.pid as number).peak);
      return {
        ...result,
        sidecar_rss_mb_overload: round(peak, 1),
        sidecar_overload_429: r.statuses['429'] ?? 0,
      };
    } finally {
      await sinks.slow(0);
      await stop(over.proc);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
