/**
 * Sidecar throughput: the BUILT `fenra-otel serve` in its own process, fed by another process
 * (bench/sidecar-sender.ts) with OTLP/protobuf requests of 512 spans (256 traces of a server
 * span + one recorded LLM span) over keep-alive loopback connections; it delivers to the light
 * ingest endpoint of bench/sinks.ts. Reports GenAI spans/s answered 200 and then delivered,
 * p50/p99 request latency, the sidecar's CPU per request (from /proc) against the bare
 * protobuf decode of the same payload in this process, and its RSS; the same load over OTLP/gRPC
 * (GenAI spans per sidecar CPU-second beside HTTP/protobuf's). Then, with Fenra slowed
 * down (each ingest request delayed), the RSS of a sidecar fed faster than it can deliver.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { billingAttributeFilter } from '../src/genai/billing-keys.js';
import { toTransactions } from '../src/stage/to-transactions.js';
import { PriceBook } from '../src/pricing/price-book.js';
import { decodeTraceRequest } from '../src/span/otlp-proto.js';
import type { SinkStats } from './sinks.js';
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
  /** The sidecar's own decode (the wire scanner under the billing filter) / the bare decode. */
  scan_vs_bare_decode: number;
  bare_decode_us_per_request: number;
  sidecar_cpu_us_per_request: number;
  sidecar_p50_ms: number;
  sidecar_p99_ms: number;
  sidecar_rss_mb: number;
  sidecar_delivered: number;
  sidecar_expected: number;
  /** With the default flags (batches of 100, queue 20,000): Fenra delivery is the cap, 429s push back. */
  sidecar_default_genai_spans_per_s: number;
  sidecar_default_429: number;
  sidecar_default_delivered: number;
  sidecar_default_expected: number;
  sidecar_requests_per_1000_tx: number;
  sidecar_bytes_per_1000_tx: number;
  sidecar_rss_mb_overload: number;
  sidecar_overload_429: number;
  /** The same load with `--spool-dir` (fsync before every 200). */
  sidecar_spool_genai_spans_per_s: number;
  sidecar_spool_p50_ms: number;
  sidecar_spool_p99_ms: number;
  sidecar_spool_delivered: number;
  sidecar_spool_expected: number;
  /** The throughput load over OTLP/gRPC (same payload, 4 calls at a time on one connection). */
  sidecar_grpc_genai_spans_per_s: number;
  sidecar_grpc_genai_spans_per_cpu_s: number;
  /** Sidecar CPU per request over gRPC / over HTTP (protobuf), same payload. */
  sidecar_grpc_vs_http_cpu: number;
  sidecar_grpc_p50_ms: number;
  sidecar_grpc_p99_ms: number;
  sidecar_grpc_delivered: number;
  sidecar_grpc_expected: number;
}

interface SenderResult {
  statuses: Record<string, number>;
  latencies: number[];
  elapsedMs: number;
}

/**
 * CPU µs per call of each function, measured in alternating blocks of ~200 ms (a, b, a, b...),
 * so that a machine slowing down or speeding up during the measurement affects both alike;
 * medians of the blocks.
 */
function timePerCallAlternating(fns: readonly (() => void)[], blocks = 7): number[] {
  for (const fn of fns) for (let i = 0; i < 20; i++) fn();
  const out: number[][] = fns.map(() => []);
  for (let b = 0; b < blocks; b++) {
    fns.forEach((fn, k) => {
      const start = process.cpuUsage();
      const t0 = performance.now();
      let n = 0;
      while (performance.now() - t0 < 200) {
        fn();
        n++;
      }
      out[k]!.push(cpuSince(start) / n);
    });
  }
  return out.map(median);
}

/** Sidecars started by this process so far (names their stdout files). */
let sidecarsStarted = 0;

export async function startBuiltSidecar(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ proc: ChildProcess; url: string; grpc: string | undefined; logs: () => string }> {
  const cli = pathToFileURL(`${DIST}cli.js`).href;
  // FENRA_BENCH_SIDECAR_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof": profile the sidecar.
  const nodeArgs = (process.env['FENRA_BENCH_SIDECAR_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
  // FENRA_BENCH_SIDECAR_STDOUT=/tmp/gc: each sidecar's stdout to /tmp/gc.<n> (what V8's
  // --trace-gc-nvp prints), numbered in the order the sidecars start.
  const stdoutPrefix = process.env['FENRA_BENCH_SIDECAR_STDOUT'];
  const stdout = stdoutPrefix ? openSync(`${stdoutPrefix}.${sidecarsStarted}`, 'w') : 'ignore';
  sidecarsStarted++;
  const proc = spawn(
    process.execPath,
    [
      ...nodeArgs,
      '--input-type=module',
      '-e',
      `const { main } = await import(${JSON.stringify(cli)}); process.exitCode = await main(process.argv.slice(1));`,
      'serve',
      '--port',
      '0',
      '--grpc-port',
      '0',
      ...args,
    ],
    {
      cwd: ROOT,
      env: { PATH: process.env['PATH'] ?? '', FENRA_API_KEY: API_KEY, ...env },
      stdio: ['ignore', stdout, 'pipe'],
    },
  );
  if (typeof stdout === 'number') closeSync(stdout); // the sidecar has its own copy
  let logs = '';
  let grpc: string | undefined;
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sidecar did not start:\n${logs}`)), 15_000);
    proc.stderr!.on('data', (c: Buffer) => {
      logs += c.toString();
      const m = /serving OTLP\/HTTP on (http:\/\/[^/\s]+)\/\S*( and OTLP\/gRPC on (\S+))?/.exec(logs);
      if (m) {
        grpc = m[3];
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`sidecar exited (${code}):\n${logs}`));
    });
  });
  return { proc, url, grpc, logs: () => logs };
}

/** Request numbers already used by earlier senders (trace ids stay unique across the run). */
let nextCounter = 1;

async function send(
  dir: string,
  url: string,
  payloadFile: string,
  traceIdOffsets: number[],
  durationMs: number,
  concurrency: number,
  grpc?: string,
): Promise<SenderResult> {
  const jobFile = join(dir, `job-${Date.now()}.json`);
  const counterStart = nextCounter;
  nextCounter += 10_000_000;
  writeFileSync(
    jobFile,
    JSON.stringify({
      url: `${url}/v1/traces`,
      grpc,
      payloadFile,
      traceIdOffsets,
      durationMs,
      concurrency,
      counterStart,
    }),
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

/** Waits until `expected` distinct transactions arrived, or delivery stalls for `stallMs`. */
async function drained(sinks: Sinks, expected: number, stallMs = 5_000): Promise<SinkStats> {
  let st = await sinks.stats();
  let last = st.fastDistinct;
  let since = Date.now();
  while (st.fastDistinct < expected && Date.now() - since < stallMs) {
    await sleep(100);
    st = await sinks.stats();
    if (st.fastDistinct !== last) {
      last = st.fastDistinct;
      since = Date.now();
    }
  }
  return st;
}

async function stop(proc: ChildProcess): Promise<void> {
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  await Promise.race([exited, sleep(15_000)]);
  if (proc.exitCode === null) proc.kill('SIGKILL');
}

/** Flags of the throughput run: batches of 1,000 and a deeper queue, so Fenra delivery is not the cap. */
export const THROUGHPUT_FLAGS = ['--batch-size', '1000', '--max-queue', '100000'];

interface Phase {
  spansPerS: number;
  cpuUsPerRequest: number;
  p50: number;
  p99: number;
  rssPeak: number;
  delivered: number;
  expected: number;
  status429: number;
  stats: SinkStats;
}

/** One sidecar process: warm-up, then `durationMs` of load; waits for delivery. */
async function phase(
  sinks: Sinks,
  dir: string,
  args: string[],
  load: { payloadFile: string; traceIdOffsets: number[]; genAiSpans: number },
  durationMs: number,
  transport: 'http' | 'grpc' = 'http',
): Promise<Phase> {
  const grpcArgs = transport === 'grpc' ? ['--grpc-port', 'auto'] : [];
  const sc = await startBuiltSidecar(['--endpoint', sinks.fastIngest, ...grpcArgs, ...args]);
  const via = transport === 'grpc' ? sc.grpc : undefined;
  if (transport === 'grpc' && via === undefined) throw new Error('the sidecar serves no OTLP/gRPC');
  try {
    await send(dir, sc.url, load.payloadFile, load.traceIdOffsets, 1_000, 4, via); // warm-up
    await drained(sinks, Infinity, 1_000);
    await sinks.reset();
    const cpu0 = procCpuSeconds(sc.proc.pid as number);
    const r = await send(dir, sc.url, load.payloadFile, load.traceIdOffsets, durationMs, 4, via);
    const ok = r.statuses['200'] ?? 0;
    const expected = ok * load.genAiSpans;
    const st = await drained(sinks, expected);
    const cpu = procCpuSeconds(sc.proc.pid as number) - cpu0;
    return {
      spansPerS: Math.round(expected / (r.elapsedMs / 1000)),
      cpuUsPerRequest: (cpu * 1e6) / ok,
      p50: round(percentile(r.latencies, 0.5)),
      p99: round(percentile(r.latencies, 0.99)),
      rssPeak: round(procRssMb(sc.proc.pid as number).peak, 1),
      delivered: st.fastDistinct,
      expected,
      status429: r.statuses['429'] ?? 0,
      stats: st,
    };
  } finally {
    await stop(sc.proc);
  }
}

export async function benchSidecar(sinks: Sinks, opts: { durationMs?: number } = {}): Promise<SidecarResult> {
  const durationMs = opts.durationMs ?? 5_000;
  const { payload, traceIdOffsets, genAiSpans } = await buildSidecarPayload();
  const dir = mkdtempSync(join(tmpdir(), 'fenra-bench-'));
  const payloadFile = join(dir, 'payload.bin');
  writeFileSync(payloadFile, payload);
  const load = { payloadFile, traceIdOffsets, genAiSpans };
  try {
    // The physical baseline: protobuf decode of the same payload to SpanViews, and decode + convert.
    const pricer = new PriceBook();
    const bareDecode = (): void => {
      if (decodeTraceRequest(payload).spans.length !== 512) throw new Error('decode');
    };
    // As the sidecar does it: the decoder keeps only the attributes billing reads.
    const options = { pricer, defaultCustomerId: 'default' };
    const keep = billingAttributeFilter(options);
    const decodeConvert = (): void => {
      const r = toTransactions(decodeTraceRequest(payload, keep).spans, options);
      if (r.transactions.length !== genAiSpans) throw new Error(`convert gave ${r.transactions.length}`);
    };
    const scan = (): void => {
      if (decodeTraceRequest(payload, keep).spans.length !== 512) throw new Error('scan');
    };
    const [bareBefore, withConvert, scanned] = timePerCallAlternating([bareDecode, decodeConvert, scan]);

    const tuned = await phase(sinks, dir, THROUGHPUT_FLAGS, load, durationMs);
    // The same load over OTLP/gRPC: the same receiver behind another transport.
    const grpc = await phase(sinks, dir, THROUGHPUT_FLAGS, load, durationMs, 'grpc');
    // The bare decode again right after the sidecar ran, against machine drift over the phase.
    const [bareAfter] = timePerCallAlternating([bareDecode], 4);
    // The lower of the two: a busy machine only adds time to a decode (one disturbed timing
    // once halved the ratio).
    const bare = Math.min(bareBefore!, bareAfter!);
    const defaults = await phase(sinks, dir, [], load, durationMs / 2);
    const spool = await phase(
      sinks,
      dir,
      [...THROUGHPUT_FLAGS, '--spool-dir', join(dir, 'spool')],
      load,
      durationMs / 2,
    );

    // Overload: Fenra answers every request after 250 ms; the sender keeps going.
    const over = await startBuiltSidecar(['--endpoint', sinks.fastIngest]);
    let overload: { peak: number; status429: number };
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
      overload = { peak: round(peak, 1), status429: r.statuses['429'] ?? 0 };
    } finally {
      await sinks.slow(0);
      await stop(over.proc);
    }

    return {
      sidecar_genai_spans_per_s: tuned.spansPerS,
      sidecar_genai_spans_per_cpu_s: Math.round(genAiSpans / (tuned.cpuUsPerRequest / 1e6)),
      sidecar_vs_bare_decode: round(tuned.cpuUsPerRequest / bare),
      decode_convert_vs_bare_decode: round(withConvert! / bareBefore!),
      scan_vs_bare_decode: round(scanned! / bareBefore!),
      bare_decode_us_per_request: Math.round(bare),
      sidecar_cpu_us_per_request: Math.round(tuned.cpuUsPerRequest),
      sidecar_p50_ms: tuned.p50,
      sidecar_p99_ms: tuned.p99,
      sidecar_rss_mb: tuned.rssPeak,
      sidecar_delivered: tuned.delivered,
      sidecar_expected: tuned.expected,
      sidecar_default_genai_spans_per_s: defaults.spansPerS,
      sidecar_default_429: defaults.status429,
      sidecar_default_delivered: defaults.delivered,
      sidecar_default_expected: defaults.expected,
      sidecar_requests_per_1000_tx: round(
        (defaults.stats.fastRequests / defaults.stats.fastTransactions) * 1000,
        1,
      ),
      sidecar_bytes_per_1000_tx: Math.round(
        (defaults.stats.fastBytes / defaults.stats.fastTransactions) * 1000,
      ),
      sidecar_spool_genai_spans_per_s: spool.spansPerS,
      sidecar_spool_p50_ms: spool.p50,
      sidecar_spool_p99_ms: spool.p99,
      sidecar_spool_delivered: spool.delivered,
      sidecar_spool_expected: spool.expected,
      sidecar_grpc_genai_spans_per_s: grpc.spansPerS,
      sidecar_grpc_genai_spans_per_cpu_s: Math.round(genAiSpans / (grpc.cpuUsPerRequest / 1e6)),
      sidecar_grpc_vs_http_cpu: round(grpc.cpuUsPerRequest / tuned.cpuUsPerRequest),
      sidecar_grpc_p50_ms: grpc.p50,
      sidecar_grpc_p99_ms: grpc.p99,
      sidecar_grpc_delivered: grpc.delivered,
      sidecar_grpc_expected: grpc.expected,
      sidecar_rss_mb_overload: overload.peak,
      sidecar_overload_429: overload.status429,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
