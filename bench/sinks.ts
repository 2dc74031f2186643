/**
 * The benchmark's receivers, in their own process so their CPU is not counted against the
 * code measured: an OTLP/HTTP sink (answers 200 to anything), the strict fake Fenra ingest
 * server (test/helpers/ingest-server.ts: validates every transaction), a light Fenra ingest
 * endpoint for throughput runs (parses and counts, answers the documented 202 body), and a
 * control endpoint (GET /stats, POST /reset, POST /slow?ms=N).
 * Prints one JSON line with the URLs on stdout.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Reply } from '../test/helpers/ingest-server.js';
import { startIngestServer } from '../test/helpers/ingest-server.js';

export interface SinkUrls {
  otlp: string;
  ingest: string;
  fastIngest: string;
  control: string;
}

export interface SinkStats {
  otlpRequests: number;
  otlpBytes: number;
  /** Strict ingest server: requests, body bytes, transactions recorded. */
  ingestRequests: number;
  ingestBytes: number;
  ingestAccepted: number;
  /** Light ingest: requests, body bytes, transactions counted, and how many distinct span keys. */
  fastRequests: number;
  fastBytes: number;
  fastTransactions: number;
  fastDistinct: number;
}

const API_KEY = 'bench-key';

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer({ keepAliveTimeout: 30_000 }, handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function body(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

async function main(): Promise<void> {
  const ingest = await startIngestServer({ apiKey: API_KEY });
  let otlpRequests = 0;
  let otlpBytes = 0;
  let fastRequests = 0;
  let fastBytes = 0;
  let fastTransactions = 0;
  let slowMs = 0;
  const distinct = new Set<string>();
  let ingestBase = { requests: 0, accepted: 0 };

  const otlp = await listen((req, res) => {
    void body(req).then((b) => {
      otlpRequests++;
      otlpBytes += b.length;
      res.writeHead(200, { 'content-type': 'application/x-protobuf', 'content-length': 0 });
      res.end();
    });
  });

  const fast = await listen((req, res) => {
    void body(req).then(async (b) => {
      if (slowMs > 0) await new Promise((r) => setTimeout(r, slowMs));
      fastRequests++;
      fastBytes += b.length;
      const parsed = JSON.parse(b.toString('utf8')) as {
        transactions: { context: Record<string, unknown> }[];
      };
      const txs = parsed.transactions;
      fastTransactions += txs.length;
      for (const t of txs) distinct.add(`${String(t.context['trace_id'])}/${String(t.context['span_id'])}`);
      const results = txs.map((_, i) => ({ transaction_index: i, message_id: randomUUID() }));
      const text = JSON.stringify({
        status: 'queued',
        events_queued: txs.length,
        message: `${txs.length} transaction(s) queued for processing`,
        results,
      });
      res.writeHead(202, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    });
  });

  const control = await listen((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/reset') {
      otlpRequests = otlpBytes = fastRequests = fastBytes = fastTransactions = 0;
      distinct.clear();
      ingestBase = { requests: ingest.requests.length, accepted: ingest.accepted.length };
    } else if (url.pathname === '/slow') {
      slowMs = Number(url.searchParams.get('ms') ?? 0);
      const n = Number(url.searchParams.get('n') ?? 0);
      if (n > 0) ingest.script(Array.from({ length: n }, (): Reply => ({ kind: 'slow', delayMs: slowMs })));
    }
    const reqs = ingest.requests.slice(ingestBase.requests);
    const stats: SinkStats = {
      otlpRequests,
      otlpBytes,
      ingestRequests: reqs.length,
      ingestBytes: reqs.reduce((s, r) => s + r.bytes, 0),
      ingestAccepted: ingest.accepted.length - ingestBase.accepted,
      fastRequests,
      fastBytes,
      fastTransactions,
      fastDistinct: distinct.size,
    };
    const text = JSON.stringify(stats);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  });

  const urls: SinkUrls = {
    otlp: `${otlp}/v1/traces`,
    ingest: ingest.url,
    fastIngest: `${fast}/usage/transactions`,
    control,
  };
  process.stdout.write(`${JSON.stringify(urls)}\n`);
  process.on('disconnect', () => process.exit(0));
}

await main();
