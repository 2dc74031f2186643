/**
 * The load generator of the sidecar benchmark, run as its own process: posts one OTLP/protobuf
 * payload (512 spans) again and again over keep-alive connections, with every request's trace
 * ids made new (a counter written into each trace id), and reports statuses and latencies.
 * Input (argv[2]): a JSON file { url, payloadFile, traceIdOffsets, durationMs, concurrency, counterStart }.
 */
import { readFileSync } from 'node:fs';
import { Pool } from 'undici';

interface Job {
  url: string;
  payloadFile: string;
  traceIdOffsets: number[];
  durationMs: number;
  concurrency: number;
  /** First request number (written into the trace ids): runs must not reuse each other's ids. */
  counterStart: number;
  /** Pause between a worker's requests, ms (0: as fast as answered). */
  pauseMs?: number;
}

const job = JSON.parse(readFileSync(process.argv[2] as string, 'utf8')) as Job;
const template = readFileSync(job.payloadFile);
const url = new URL(job.url);
const pool = new Pool(url.origin, { connections: job.concurrency, pipelining: 1, keepAliveTimeout: 30_000 });
let counter = job.counterStart;
const latencies: number[] = [];
const statuses: Record<string, number> = {};
const end = performance.now() + job.durationMs;

function nextBody(): Buffer {
  const body = Buffer.from(template);
  const n = ++counter;
  for (const at of job.traceIdOffsets) body.writeUInt32BE(n, at + 4);
  return body;
}

async function worker(): Promise<void> {
  while (performance.now() < end) {
    const body = nextBody();
    const t = performance.now();
    try {
      const r = await pool.request({
        path: url.pathname,
        method: 'POST',
        body,
        headers: { 'content-type': 'application/x-protobuf' },
      });
      await r.body.arrayBuffer();
      statuses[r.statusCode] = (statuses[r.statusCode] ?? 0) + 1;
      if (r.statusCode === 200) latencies.push(performance.now() - t);
    } catch (e) {
      statuses[(e as Error).name] = (statuses[(e as Error).name] ?? 0) + 1;
    }
    if (job.pauseMs) await new Promise((r) => setTimeout(r, job.pauseMs));
  }
}

const started = performance.now();
await Promise.all(Array.from({ length: job.concurrency }, worker));
const elapsedMs = performance.now() - started;
await pool.close();
process.stdout.write(`${JSON.stringify({ statuses, latencies, elapsedMs })}\n`);
