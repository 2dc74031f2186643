/**
 * The load generator of the sidecar benchmark, run as its own process: posts one OTLP/protobuf
 * payload (512 spans) again and again over keep-alive connections, with every request's trace
 * ids made new (a counter written into each trace id), and reports statuses and latencies.
 * With `grpc` (host:port) it sends the same bytes as OTLP/gRPC `TraceService/Export` calls,
 * `concurrency` at a time over one HTTP/2 connection (as a Collector's exporter does); an OK
 * call is counted as a 200.
 * Input (argv[2]): a JSON file { url, grpc?, payloadFile, traceIdOffsets, durationMs, concurrency, counterStart }.
 */
import { readFileSync } from 'node:fs';
import * as grpcJs from '@grpc/grpc-js';
import { Pool } from 'undici';

interface Job {
  url: string;
  /** OTLP/gRPC address (host:port): send over gRPC instead of POST /v1/traces. */
  grpc?: string;
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
const identity = (b: Buffer): Buffer => b;
const grpcClient =
  job.grpc === undefined
    ? undefined
    : new (grpcJs.makeGenericClientConstructor({}, 'Bench'))(job.grpc, grpcJs.credentials.createInsecure(), {
        'grpc.max_send_message_length': -1,
      });

/** One OTLP/gRPC Export call: its status code name ('OK' counted as '200'). */
function exportGrpc(client: grpcJs.Client, body: Buffer): Promise<string> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
      identity,
      identity,
      body,
      new grpcJs.Metadata(),
      { deadline: Date.now() + 30_000 },
      (err) => resolve(err ? (grpcJs.status[err.code] ?? String(err.code)) : '200'),
    );
  });
}
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
    if (grpcClient !== undefined) {
      const status = await exportGrpc(grpcClient, body);
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (status === '200') latencies.push(performance.now() - t);
    } else
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
grpcClient?.close();
process.stdout.write(`${JSON.stringify({ statuses, latencies, elapsedMs })}\n`);
