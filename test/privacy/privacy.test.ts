import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runConvert } from '../../src/cli/convert.js';
import { FenraSpanProcessor } from '../../src/otel/span-processor.js';
import { Forwarder } from '../../src/sidecar/forwarder.js';
import { Metrics } from '../../src/sidecar/metrics.js';
import { PriceBook } from '../../src/pricing/price-book.js';
import { spansFromOtlpJson } from '../../src/span/from-otlp-json.js';
import { toTransactions } from '../../src/stage/to-transactions.js';
import type { CapturedDiag } from '../helpers/capture-diag.js';
import { captureDiag } from '../helpers/capture-diag.js';
import type { IngestServer } from '../helpers/ingest-server.js';
import { startIngestServer } from '../helpers/ingest-server.js';
import type { ServedInProcess } from '../helpers/serve-in-process.js';
import { serveInProcess, TextSink } from '../helpers/serve-in-process.js';
import { replay } from '../otel/replay.js';
import { readableSpans } from '../sidecar/otlp-replay.js';
import { until } from '../sidecar/spawn-sidecar.js';
import { forbiddenStrings, leaksIn, MARK, plantedRequests } from './planted.js';

/**
 * Issue 12: no prompt or completion content, no attribute outside the allow-list and no secret
 * in any sink. Every recorded trace, with markers planted where content and secrets live (and
 * the prompts the recordings really hold), goes through every mode; then every place data goes
 * is read back: Fenra request bodies (a real ingest server on 127.0.0.1), the disk spool's
 * files, the local sink's files, the logs at debug level (diag in process, the sidecar's JSON
 * lines), /metrics, the inspector's JSON and page, and `convert`'s output.
 */

const API_KEY = `${MARK}-fenra-api-key`;
const RECEIVER_TOKEN = `${MARK}-receiver-token`;
const URL_PASSWORD = `${MARK}-url-password`;
const URL_TOKEN = `${MARK}-url-token`;
const requests = plantedRequests();
const forbidden = forbiddenStrings(requests, [API_KEY, RECEIVER_TOKEN, URL_PASSWORD, URL_TOKEN]);
const pricer = new PriceBook();
/** The calls billed from the planted traces (the same in every mode). */
const expected = requests.reduce(
  (n, r) => n + toTransactions(spansFromOtlpJson(r.json).spans, { pricer }).transactions.length,
  0,
);

/** An endpoint with credentials in it, which must never be shown. */
const endpointOf = (ingest: IngestServer): string => {
  const u = new URL(ingest.url);
  return `http://fenra:${URL_PASSWORD}@${u.host}${u.pathname}?token=${URL_TOKEN}`;
};

/** Every file under `dir`, as text. */
function filesUnder(dir: string): string {
  let text = '';
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    text += statSync(p).isDirectory() ? filesUnder(p) : `\n--- ${p}\n${readFileSync(p, 'latin1')}`;
  }
  return text;
}

const bodies = (ingest: IngestServer): string => ingest.requests.map((r) => r.body).join('\n');
const billedIn = (ingest: IngestServer): Set<string> => {
  const ids = new Set<string>();
  for (const r of ingest.requests) {
    for (const m of r.body.matchAll(/"trace_id":"([0-9a-f]{32})","span_id":"([0-9a-f]{16})"/g))
      ids.add(`${m[1]}:${m[2]}`);
  }
  return ids;
};

function expectClean(sink: string, text: string): void {
  expect(text.length, `${sink} is empty: nothing was checked`).toBeGreaterThan(0);
  expect(leaksIn(text, forbidden), sink).toEqual([]);
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fenra-privacy-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('the input holds what must not leak (the test can fail)', () => {
  const all = JSON.stringify(requests);
  expect(leaksIn(all, forbidden).length).toBeGreaterThan(100);
  // The recordings' own prompts are among the forbidden strings, not just the planted markers.
  expect(forbidden.filter((f) => !f.includes(MARK)).length).toBeGreaterThan(10);
  expect(expected).toBeGreaterThan(30);
});

describe('in process: the span processor (diag at debug, bodies sent to Fenra)', () => {
  let ingest: IngestServer;
  let diag: CapturedDiag;
  beforeAll(async () => {
    ingest = await startIngestServer({ apiKey: API_KEY });
    diag = captureDiag();
    for (const r of requests) {
      const processor = new FenraSpanProcessor({
        apiKey: API_KEY,
        endpoint: endpointOf(ingest),
        scheduledDelayMillis: 10,
      });
      const provider = await replay(spansFromOtlpJson(r.json).spans, [processor]);
      await provider.forceFlush();
      await provider.shutdown();
    }
  });
  afterAll(async () => {
    diag.restore();
    await ingest.close();
  });

  it('Fenra request bodies', () => {
    expect(ingest.accepted.length).toBe(expected);
    expectClean('in-process bodies', bodies(ingest));
  });

  it('diag output at every level', () => {
    expectClean('diag', diag.text() + '\n(diag)');
  });
});

/** `serve` in this process at debug level (its logs are one of the sinks read). */
function serve(args: string[], env: Record<string, string>): Promise<ServedInProcess> {
  return serveInProcess(['--port', '0', '--log-level', 'debug', ...args], env);
}

/** Posts every planted request as OTLP/JSON and, under other trace ids, as OTLP/protobuf. */
async function postAll(base: string, headers: Record<string, string>, protobuf: boolean): Promise<void> {
  for (const r of requests) {
    const json = await fetch(`${base}/v1/traces`, {
      method: 'POST',
      body: JSON.stringify(r.json),
      headers: { 'content-type': 'application/json', ...headers },
    });
    expect(json.status, r.name).toBe(200);
    if (!protobuf) continue;
    const spans = readableSpans(r.json, (id) => `${id.slice(0, 28)}cafe`);
    const proto = await fetch(`${base}/v1/traces`, {
      method: 'POST',
      body: ProtobufTraceSerializer.serializeRequest(spans),
      headers: { 'content-type': 'application/x-protobuf', ...headers },
    });
    expect(proto.status, r.name).toBe(200);
  }
}

describe('the sidecar sending to Fenra, with a disk spool (logs at debug, /metrics, inspector)', () => {
  let ingest: IngestServer;
  let s: Awaited<ReturnType<typeof serve>>;
  let spoolDir: string;
  const auth = { authorization: `Bearer ${RECEIVER_TOKEN}` };
  beforeAll(async () => {
    ingest = await startIngestServer({ apiKey: API_KEY });
    // Fenra never answers: every record stays in the spool while its bodies are seen.
    ingest.script(Array.from({ length: 10_000 }, () => ({ kind: 'hang' as const })));
    spoolDir = join(dir, 'spool');
    const tokenFile = join(dir, 'receiver-token');
    writeFileSync(tokenFile, RECEIVER_TOKEN);
    s = await serve(
      [
        '--spool-dir',
        spoolDir,
        '--receiver-token-file',
        tokenFile,
        '--request-timeout-ms',
        '200',
        // One batch, sent once every transaction is queued (its request then hangs).
        '--batch-size',
        String(2 * expected),
        '--flush-ms',
        '600000',
        '--shutdown-timeout-ms',
        '1000',
        '--data-dir',
        join(dir, 'fenra-mode-data'),
      ],
      { FENRA_API_KEY: API_KEY, FENRA_ENDPOINT: endpointOf(ingest) },
    );
    await postAll(s.base, auth, true);
    await until(
      () => billedIn(ingest).size >= 2 * expected,
      'every transaction in a body sent to Fenra',
      30_000,
    );
  });
  afterAll(async () => {
    await s.stop();
    await ingest.close();
  });

  it('Fenra request bodies', () => {
    expectClean('sidecar bodies', bodies(ingest));
  });

  it('the spool files (records held until Fenra accepts them)', () => {
    const text = filesUnder(spoolDir);
    // The records are there: each billed span is in them.
    expect(text).toContain('"gen_ai.usage.input_tokens"');
    expectClean('spool', text);
    // Readable by the owner only.
    expect(statSync(spoolDir).mode & 0o077).toBe(0);
  });

  it('/metrics (behind the receiver token; no customer ids)', async () => {
    expect((await fetch(`${s.base}/metrics`)).status).toBe(401);
    const text = await (await fetch(`${s.base}/metrics`, { headers: auth })).text();
    expect(text).toContain('fenra_otel_receiver_spans_total');
    expect(text).not.toMatch(/cust-(logfire|vercel|langfuse)/);
    expectClean('/metrics', text);
  });

  it('the inspector page and JSON', async () => {
    const page = await (await fetch(`${s.base}/`)).text();
    const json = await (await fetch(`${s.base}/inspector/summary.json`)).text();
    expect(json).not.toContain(URL_PASSWORD);
    expectClean('inspector page', page);
    expectClean('inspector JSON', json);
  });

  it('the JSON log lines at debug level, and the start banner', () => {
    expect(s.stderr.text).toContain('"level":"info"');
    // The endpoint is shown, without its credentials.
    expect(s.stderr.text).toMatch(/→ http:\/\/127\.0\.0\.1:\d+\/usage\/transactions\?token=\*\*\*/);
    expectClean('sidecar logs', s.stderr.text + s.stdout.text);
  });
});

describe('the sidecar in local mode (the local sink, logs, /metrics, inspector)', () => {
  let s: Awaited<ReturnType<typeof serve>>;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = join(dir, 'local-data');
    s = await serve(['--data-dir', dataDir, '--flush-ms', '50'], {
      FENRA_ENDPOINT: `http://fenra:${URL_PASSWORD}@127.0.0.1:9/usage/transactions?token=${URL_TOKEN}`,
    });
    await postAll(s.base, {}, false);
    await until(async () => {
      const summary = (await (await fetch(`${s.base}/inspector/summary.json`)).json()) as {
        totals: { transactions: number };
      };
      return summary.totals.transactions >= expected;
    }, 'every transaction in the local sink');
  });
  afterAll(() => s.stop());

  it('the local sink files', () => {
    const text = filesUnder(dataDir);
    expect(text).toContain('cust-vercel');
    expectClean('local sink', text);
    expect(statSync(dataDir).mode & 0o077).toBe(0);
  });

  it('the inspector page and JSON, and /metrics', async () => {
    const json = await (await fetch(`${s.base}/inspector/summary.json`)).text();
    expect(json).toContain('cust-logfire');
    expectClean('inspector JSON', json);
    expectClean('inspector page', await (await fetch(`${s.base}/`)).text());
    expectClean('/metrics', await (await fetch(`${s.base}/metrics`)).text());
  });

  it('the logs and the start banner', () => {
    expect(s.stdout.text).toContain('LOCAL MODE');
    expectClean('local-mode output', s.stderr.text + s.stdout.text);
  });
});

describe('convert: its output, and --send to Fenra', () => {
  let file: string;
  beforeAll(() => {
    file = join(dir, 'planted.jsonl');
    writeFileSync(file, requests.map((r) => JSON.stringify(r.json)).join('\n') + '\n');
  });

  it('the transactions printed and the summary', async () => {
    const stdout = new TextSink();
    const stderr = new TextSink();
    const code = await runConvert([file], { stdout, stderr, env: {} });
    expect(code).toBe(0);
    expect(stdout.text.trim().split('\n')).toHaveLength(expected);
    expectClean('convert stdout', stdout.text);
    expectClean('convert stderr', stderr.text);
  });

  it('--send: the bodies and the progress', async () => {
    const ingest = await startIngestServer({ apiKey: API_KEY });
    try {
      const stdout = new TextSink();
      const stderr = new TextSink();
      const code = await runConvert([file, '--send'], {
        stdout,
        stderr,
        env: { FENRA_API_KEY: API_KEY, FENRA_ENDPOINT: endpointOf(ingest) },
      });
      expect(code).toBe(0);
      expect(ingest.accepted).toHaveLength(expected);
      expectClean('convert --send bodies', bodies(ingest));
      expectClean('convert --send output', stdout.text + stderr.text);
    } finally {
      await ingest.close();
    }
  });
});

describe('errors that quote a URL', () => {
  it('the pass-through to a URL with credentials fails, and its log line shows none of them', async () => {
    const diag = captureDiag();
    try {
      // fetch refuses a URL with credentials, and its error quotes the URL.
      const forwarder = new Forwarder(
        {
          url: `http://fenra:${URL_PASSWORD}@127.0.0.1:9/v1/traces?token=${URL_TOKEN}`,
          timeoutMillis: 50,
          maxPendingBytes: 1024,
          concurrency: 1,
        },
        new Metrics(),
      );
      forwarder.forward(Buffer.from('{}'), 'application/json', undefined);
      await until(() => diag.text().includes('pass-through'), 'the pass-through to fail');
      await forwarder.shutdown(1000);
      expect(diag.text()).toContain('credentials');
      expectClean('pass-through error', diag.text());
    } finally {
      diag.restore();
    }
  });
});
