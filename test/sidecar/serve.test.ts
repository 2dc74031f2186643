import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { connect } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runServe } from '../../src/cli/serve.js';
import { RouteServer, send } from '../../src/sidecar/http-server.js';
import { billingAttributeFilter } from '../../src/genai/billing-keys.js';
import { serialiseSpans } from '../../src/sidecar/spool.js';
import { spansFromOtlpJson } from '../../src/span/from-otlp-json.js';
import type { IngestServer } from '../helpers/ingest-server.js';
import { startIngestServer } from '../helpers/ingest-server.js';
import type { ServedInProcess } from '../helpers/serve-in-process.js';
import { serveInProcess, TextSink } from '../helpers/serve-in-process.js';
import { recordedFixtures } from './otlp-replay.js';
import { until } from './spawn-sidecar.js';

/*
 * `runServe` in-process: options, security, pass-through, back-pressure, readiness, shutdown.
 */

/** `serve` in this process, on any free ports; `url` is its OTLP/HTTP base. */
async function serve(
  args: string[],
  env: Record<string, string> = {},
): Promise<ServedInProcess & { url: string }> {
  // Without an API key serve runs in local mode: keep its sink out of the working directory.
  const s = await serveInProcess(['--port', '0', '--grpc-port', '0', ...args], {
    FENRA_DATA_DIR: join(dir, 'local-sink'),
    ...env,
  });
  return { ...s, url: s.base };
}

async function run(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; out: string; err: string }> {
  const stdout = new TextSink();
  const stderr = new TextSink();
  const code = await runServe(args, { stdout, stderr, env, handleSignals: false });
  return { code, out: stdout.text, err: stderr.text };
}

const chat = recordedFixtures().find((f) => f.name === 'openai-chat')!;
const chatJson = JSON.stringify(chat.json);
/** The recorded trace without its root span (the LLM span waits for a root that never comes). */
function withoutRoot(): string {
  const copy = JSON.parse(chatJson) as {
    resourceSpans: { scopeSpans: { spans: { parentSpanId?: string }[] }[] }[];
  };
  for (const rs of copy.resourceSpans)
    for (const ss of rs.scopeSpans) ss.spans = ss.spans.filter((s) => s.parentSpanId);
  return JSON.stringify(copy);
}
/** The recorded trace's root span alone (it completes a trace whose LLM span is held). */
function rootOnly(): string {
  const copy = JSON.parse(chatJson) as {
    resourceSpans: { scopeSpans: { spans: { parentSpanId?: string }[] }[] }[];
  };
  for (const rs of copy.resourceSpans)
    for (const ss of rs.scopeSpans) ss.spans = ss.spans.filter((s) => !s.parentSpanId);
  return JSON.stringify(copy);
}
/** Bytes of a spool record holding these spans (decoded as the sidecar does: billing attributes only). */
function recordSize(json: string): number {
  return Buffer.byteLength(
    serialiseSpans(spansFromOtlpJson(JSON.parse(json), billingAttributeFilter()).spans),
  );
}
const postJson = (
  url: string,
  body: string | Buffer,
  headers: Record<string, string> = {},
): Promise<Response> =>
  fetch(`${url}/v1/traces`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', ...headers },
  });

let ingest: IngestServer;
let dir: string;
beforeAll(async () => {
  ingest = await startIngestServer({ apiKey: 'k' });
  dir = mkdtempSync(join(tmpdir(), 'fenra-serve-'));
});
afterAll(async () => {
  await ingest.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('fenra-otel serve: command line', () => {
  it('--help describes the options and the endpoints', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    for (const word of [
      '--spool-dir',
      '--forward',
      '--endpoint',
      '--host',
      '--port',
      '/metrics',
      'FENRA_API_KEY',
    ])
      expect(r.out).toContain(word);
  });

  it('refuses unknown flags and bad values with exit code 2 and a message', async () => {
    expect((await run(['--nope'])).code).toBe(2);
    const r = await run(['--port', 'eighty']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--port: expected a port number/);
    const e = await run([], { FENRA_TRACE_WAIT_MILLIS: '-5' });
    expect(e.err).toMatch(/FENRA_TRACE_WAIT_MILLIS: expected a positive integer/);
  });

  it('refuses a config file with an unknown setting', async () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ spoolDirectory: '/tmp/x' }));
    const r = await run(['--config', file]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/unknown setting 'spoolDirectory'/);
  });

  it('a bad FENRA_FORWARD_HEADERS or a wrongly typed config file exits 2 with a message, not a crash', async () => {
    const r = await run([], { FENRA_FORWARD_HEADERS: 'a=%zz' });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/FENRA_FORWARD_HEADERS: invalid percent-encoding in 'a=%zz'/);
    expect((await run([], { FENRA_FORWARD_HEADERS: 'novalue' })).code).toBe(2);
    const file = join(dir, 'typed.json');
    writeFileSync(file, JSON.stringify({ receiverToken: 123 }));
    const t = await run(['--config', file]);
    expect(t.code).toBe(2);
    expect(t.err).toMatch(/config file 'receiverToken': expected a non-empty string, got number/);
    const big = await run(['--max-decompressed-mb', '100', '--max-inflight-mb', '50']);
    expect(big.code).toBe(2);
    expect(big.err).toMatch(/must fit in --max-inflight-mb/);
  });

  it.each([
    [['--endpoint', 'htps//x'], {}, /--endpoint: expected an http\(s\) URL, got 'htps\/\/x'/],
    [[], { FENRA_ENDPOINT: 'htps//x' }, /FENRA_ENDPOINT: expected an http\(s\) URL, got 'htps\/\/x'/],
    [['--forward', 'collector:4318'], {}, /--forward: expected an http\(s\) URL/],
    [[], { FENRA_FORWARD_URL: 'ftp://c' }, /FENRA_FORWARD_URL: expected an http\(s\) URL/],
  ])('a malformed URL (%j %j) exits 2 naming it, before anything starts', async (args, env, message) => {
    const before = ingest.requests.length;
    const r = await run(['--port', '0', ...args], { FENRA_API_KEY: 'k', ...env });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.out).toBe('');
    expect(ingest.requests.length).toBe(before);
  });

  it('says so when the port is taken', async () => {
    const first = await serve(['--endpoint', ingest.url]);
    const r = await run(['--port', String(first.sidecar.address.port), '--endpoint', ingest.url]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/already in use/);
    // The way out, named as the user can use it: the flag and the variable.
    const port = first.sidecar.address.port;
    expect(r.err).toContain(`--port ${port + 1}`);
    expect(r.err).toContain(`FENRA_SERVE_PORT=${port + 1}`);
    expect(r.err).toContain(`OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:${port + 1}`);
    await first.stop();
  });
});

describe('fenra-otel serve: behaviour', () => {
  it('with a receiver token, requests without the right bearer token get 401', async () => {
    const token = join(dir, 'token');
    writeFileSync(token, 's3cret\n');
    const s = await serve(['--endpoint', ingest.url, '--receiver-token-file', token]);
    try {
      expect((await postJson(s.url, '{}')).status).toBe(401);
      expect((await postJson(s.url, '{}', { authorization: 'Bearer wrong!' })).status).toBe(401);
      expect((await postJson(s.url, '{}', { authorization: 'Bearer s3cret' })).status).toBe(200);
      // The scheme is case-insensitive (RFC 7235).
      expect((await postJson(s.url, '{}', { authorization: 'bearer s3cret' })).status).toBe(200);
      expect((await postJson(s.url, '{}', { authorization: 'BEARER  s3cret' })).status).toBe(200);
      expect((await postJson(s.url, '{}', { authorization: 'Basic s3cret' })).status).toBe(401);
      expect((await postJson(s.url, '{}', { authorization: 'Bearer s3cre' })).status).toBe(401);
    } finally {
      await s.stop();
    }
  });

  it('--forward passes each accepted request on byte for byte, with its content type and encoding', async () => {
    const got: { body: Buffer; headers: IncomingHttpHeaders; url: string | undefined }[] = [];
    const downstream = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        got.push({ body: Buffer.concat(chunks), headers: req.headers, url: req.url });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => downstream.listen(0, '127.0.0.1', r));
    const port = (downstream.address() as AddressInfo).port;
    const s = await serve(['--endpoint', ingest.url, '--forward', `http://127.0.0.1:${port}/v1/traces`], {
      FENRA_API_KEY: 'k',
    });
    try {
      const body = gzipSync(Buffer.from(chatJson));
      expect((await postJson(s.url, body, { 'content-encoding': 'gzip' })).status).toBe(200);
      expect((await postJson(s.url, 'garbage')).status).toBe(400); // refused: not forwarded
      await until(() => got.length >= 1, 'the forwarded request');
      expect(got).toHaveLength(1);
      expect(got[0]!.url).toBe('/v1/traces');
      expect(got[0]!.headers['content-encoding']).toBe('gzip');
      expect(got[0]!.headers['content-type']).toBe('application/json');
      expect(got[0]!.body.equals(body)).toBe(true);
    } finally {
      await s.stop();
      downstream.close();
    }
  });

  it('when the spool is full it answers 503 with Retry-After and is not ready, but takes the root spans of held traces', async () => {
    const spool = join(dir, 'full');
    // Room for one held LLM span, and (in the reserve) for the root that completes its trace.
    const llm = recordSize(withoutRoot());
    const root = recordSize(rootOnly());
    const max = llm + root;
    expect(Math.floor(max * 0.9)).toBeLessThan(2 * llm);
    const before = ingest.accepted.length;
    const s = await serve(
      [
        '--endpoint',
        ingest.url,
        '--spool-dir',
        spool,
        '--spool-max-mb',
        String(max / 1024 / 1024),
        '--trace-wait-ms',
        '60000',
        '--flush-ms',
        '20',
        '--retry-after-s',
        '7',
      ],
      { FENRA_API_KEY: 'k' },
    );
    try {
      expect((await postJson(s.url, withoutRoot())).status).toBe(200);
      const res = await postJson(s.url, withoutRoot());
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('7');
      const ready = await fetch(`${s.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.text()).toMatch(/spool is full/);
      // Spans that matter for nothing are still accepted (they need no room).
      expect((await postJson(s.url, '{}')).status).toBe(200);
      expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
      // The root of the held trace completes it: taken (the reserve), and the call is attributed.
      expect((await postJson(s.url, rootOnly())).status).toBe(200);
      await until(() => ingest.accepted.length > before, 'the transaction');
      expect(ingest.accepted.slice(before).map((t) => t.transaction.context['billable_customer_id'])).toEqual(
        ['cus_acme_001'],
      );
    } finally {
      await s.stop();
    }
  });

  it('is not ready while Fenra rejects the API key, and keeps the transactions', async () => {
    const s = await serve(['--endpoint', ingest.url, '--flush-ms', '20'], { FENRA_API_KEY: 'revoked' });
    try {
      expect((await postJson(s.url, chatJson)).status).toBe(200);
      await until(async () => (await fetch(`${s.url}/readyz`)).status === 503, 'readiness to drop');
      expect(await (await fetch(`${s.url}/readyz`)).text()).toMatch(/rejects the API key/);
      const metrics = await (await fetch(`${s.url}/metrics`)).text();
      expect(metrics).toMatch(/^fenra_otel_queue_depth 1$/m);
      expect(metrics).toMatch(/^fenra_otel_export_blocked\{state="unauthorized"\} 1$/m);
      expect(s.stderr.text).toMatch(/"level":"error".*rejected the API key/);
      // It names the sidecar's own settings, not the library's code option.
      expect(s.stderr.text).toContain('fix --api-key-file or FENRA_API_KEY and restart');
      expect(s.stderr.text).not.toContain('apiKey');
      expect(s.stderr.text).not.toContain('revoked');
    } finally {
      await s.stop();
    }
  });

  it('on stop it resolves held traces and delivers them before exiting', async () => {
    const before = ingest.accepted.length;
    const s = await serve(['--endpoint', ingest.url, '--trace-wait-ms', '60000', '--flush-ms', '60000'], {
      FENRA_API_KEY: 'k',
    });
    expect((await postJson(s.url, withoutRoot())).status).toBe(200);
    expect(ingest.accepted.length).toBe(before);
    expect(await s.stop()).toBe(0);
    expect(ingest.accepted.length).toBe(before + 1);
    const logs = s.stderr.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { level: string; msg: string });
    expect(logs.at(-1)!.msg).toMatch(/stopped: 1 transaction\(s\) accepted/);
  });
});

/** An HTTP/1.1 request on its own socket, sending `first` now; `rest()` sends the remainder. */
function partialRequest(
  url: string,
  head: string,
  first: string,
): { rest: (more: string) => void; response: Promise<string>; socket: Socket } {
  const u = new URL(url);
  const socket = connect(Number(u.port), u.hostname);
  socket.write(head + first);
  let text = '';
  socket.on('data', (c: Buffer) => (text += c.toString()));
  const response = new Promise<string>((resolve) => {
    socket.on('close', () => resolve(text));
    socket.on('error', () => resolve(text));
  });
  return { rest: (more) => socket.write(more), response, socket };
}

/** A client on a raw connection: what it writes, what it has read, whether the connection broke. */
class RawClient {
  readonly socket: Socket;
  text = '';
  broken: string | undefined;
  closed = false;
  constructor(url: string) {
    const u = new URL(url);
    this.socket = connect(Number(u.port), u.hostname);
    this.socket.on('data', (c: Buffer) => (this.text += c.toString('latin1')));
    this.socket.on('error', (e) => (this.broken ??= (e as NodeJS.ErrnoException).code ?? e.message));
    this.socket.on('close', () => (this.closed = true));
  }
  write(data: string | Buffer): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed || this.socket.destroyed) return resolve();
      this.socket.write(data, (e) => {
        if (e) this.broken ??= (e as NodeJS.ErrnoException).code ?? e.message;
        resolve();
      });
    });
  }
  /** Writes `total` bytes of `x` in 64 KiB pieces, chunked (transfer-encoding) or not. */
  async body(total: number, chunked: boolean): Promise<void> {
    const piece = Buffer.alloc(64 * 1024, 'x');
    for (let sent = 0; sent < total && !this.closed; sent += piece.length) {
      const p = piece.subarray(0, Math.min(piece.length, total - sent));
      await this.write(
        chunked ? Buffer.concat([Buffer.from(`${p.length.toString(16)}\r\n`), p, Buffer.from('\r\n')]) : p,
      );
    }
    if (chunked) await this.write('0\r\n\r\n');
  }
  async until(what: RegExp | (() => boolean), label: string): Promise<void> {
    await until(() => (typeof what === 'function' ? what() : what.test(this.text)), label);
  }
}

describe('fenra-otel serve: memory and connection bounds', () => {
  it('a body over --max-body-mb gets its 413 while the sender is still writing it, not a reset; the connection serves on (up to 4x the limit dropped); a 404 the same', async () => {
    const s = await serve(['--max-body-mb', '1'], { FENRA_API_KEY: 'k', FENRA_ENDPOINT: ingest.url });
    const host = new URL(s.url).host;
    const head = (framing: string): string =>
      `POST /v1/traces HTTP/1.1\r\nhost: ${host}\r\ncontent-type: application/json\r\n${framing}\r\n\r\n`;
    const next = `{"resourceSpans":[]}`;
    const nextRequest = head(`content-length: ${next.length}`) + next;
    const MIB = 1024 * 1024;
    /** Sends `bytes` to `path` with a declared length: the answer first, then the body written whole and dropped, then the next request served. */
    const refusedThenServes = async (path: string, bytes: number, status: number): Promise<void> => {
      const c = new RawClient(s.url);
      await c.write(head(`content-length: ${bytes}`).replace('/v1/traces', path));
      await c.until(new RegExp(`^HTTP/1.1 ${status} `), `the ${status}`);
      await c.body(bytes, false);
      await c.write(nextRequest);
      await c.until(/HTTP\/1.1 200 /, 'the next answer on the same connection');
      expect(c.broken).toBeUndefined();
      c.socket.destroy();
    };
    /** The same past 4x the limit: answered, then closed while the rest is still being written (not drained, then idle). */
    const refusedThenClosed = async (path: string, status: number): Promise<void> => {
      const c = new RawClient(s.url);
      await c.write(head(`content-length: ${64 * MIB}`).replace('/v1/traces', path));
      await c.body(64 * MIB, false);
      await c.until(() => c.closed, 'the connection closed');
      expect(c.text).toMatch(new RegExp(`^HTTP/1.1 ${status} `));
      expect(c.text).not.toMatch(/HTTP\/1.1 200/);
      expect(c.broken).toMatch(/EPIPE|ECONNRESET/);
    };
    try {
      // Declared too large: answered at once, the body then written whole and dropped.
      await refusedThenServes('/v1/traces', 3 * MIB, 413);

      // Chunked: found too large while reading, the rest dropped the same way.
      const chunked = new RawClient(s.url);
      await chunked.write(head('transfer-encoding: chunked'));
      await chunked.body(3 * MIB, true);
      await chunked.write(nextRequest);
      await chunked.until(/HTTP\/1.1 200 /, 'the next answer on the same connection');
      expect(chunked.text).toMatch(/^HTTP\/1.1 413 /);
      expect(chunked.broken).toBeUndefined();
      chunked.socket.destroy();

      // More than 4x the limit: answered, then the connection is closed.
      await refusedThenClosed('/v1/traces', 413);

      // A request to no route: the same (its body may be as large as any).
      await refusedThenServes('/v1/logs', 3 * MIB, 404);
      await refusedThenClosed('/v1/logs', 404);
    } finally {
      await s.stop();
    }
  });

  it('answers 429 + Retry-After when the request bytes in flight would pass --max-inflight-mb, and serves again after', async () => {
    const s = await serve(
      [
        '--max-inflight-mb',
        String(64 / 1024),
        '--max-decompressed-mb',
        String(48 / 1024),
        '--retry-after-s',
        '3',
      ],
      { FENRA_API_KEY: 'k', FENRA_ENDPOINT: ingest.url },
    );
    try {
      const pad = (n: number): string => JSON.stringify({ pad: 'x'.repeat(n - 10) }).padEnd(n, ' ');
      const body = pad(40 * 1024);
      const head = `POST /v1/traces HTTP/1.1\r\nhost: ${new URL(s.url).host}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n`;
      // The first request holds 30 KiB while its body trickles in.
      const slow = partialRequest(s.url, head, body.slice(0, 30 * 1024));
      await until(
        () =>
          /fenra_otel_receiver_inflight_bytes (\d+)/.exec(s.sidecar.metrics.render())?.[1] ===
          String(30 * 1024),
        'the first request to be held',
      );
      const refused = await postJson(s.url, body);
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toBe('3');
      slow.rest(body.slice(30 * 1024));
      expect(await slow.response).toMatch(/^HTTP\/1.1 200/);
      expect((await postJson(s.url, body)).status).toBe(200);
      expect(s.sidecar.metrics.render()).toMatch(/^fenra_otel_receiver_inflight_bytes 0$/m);
      expect(s.stderr.text).toMatch(/refusing requests.*max-inflight-mb/);
    } finally {
      await s.stop();
    }
  });

  it('while the queue to Fenra is full, refuses with 429 + Retry-After before reading the body, and drops nothing it took', async () => {
    ingest.setDefault({ kind: 'status', status: 503 }); // Fenra down: the two queue places stay taken
    const s = await serve(
      ['--max-queue', '2', '--batch-size', '1', '--flush-ms', '20', '--retry-after-s', '2'],
      {
        FENRA_API_KEY: 'k',
        FENRA_ENDPOINT: ingest.url,
      },
    );
    try {
      const before = ingest.accepted.length;
      const requestsBefore = ingest.requests.length;
      const fresh = (n: number): string =>
        chatJson.replace(/"traceId":\s*"[0-9a-f]{8}/g, `"traceId":"${n.toString(16).padStart(8, '0')}`);
      expect((await postJson(s.url, fresh(1))).status).toBe(200); // in the queue (in flight)
      expect((await postJson(s.url, fresh(2))).status).toBe(200); // the last place
      // Both sent (and refused: they keep their places until they are delivered).
      await until(() => ingest.requests.length - requestsBefore >= 2, 'both sent');
      // Headers and a first byte only: the answer comes without the body being read.
      const body = fresh(3);
      const head = `POST /v1/traces HTTP/1.1\r\nhost: ${new URL(s.url).host}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n`;
      const early = partialRequest(s.url, head, body.slice(0, 1));
      await until(() => s.stderr.text.includes('the queue to Fenra is full'), 'the refusal');
      early.socket.destroy();
      const answer = await early.response;
      expect(answer).toMatch(/^HTTP\/1.1 429/);
      expect(answer).toMatch(/retry-after: 2/i);
      expect(s.stderr.text).toMatch(
        /refusing requests \(429\/503 \+ Retry-After\): the queue to Fenra is full/,
      );
      ingest.setDefault(undefined); // Fenra is back
      await until(() => ingest.accepted.length - before === 2, 'both taken traces delivered');
      expect((await postJson(s.url, fresh(3))).status).toBe(200);
      await until(() => ingest.accepted.length - before === 3, 'the retried one delivered');
      const metrics = s.sidecar.metrics.render();
      expect(metrics).toMatch(/^fenra_otel_transactions_dropped_total\{reason="queue_full"\} 0$/m);
    } finally {
      ingest.setDefault(undefined);
      await s.stop();
    }
  });

  it('at --max-connections a new connection takes the place of an idle one; it is refused only when every one is busy (counted)', async () => {
    const s = await serve(['--max-connections', '2'], { FENRA_API_KEY: 'k', FENRA_ENDPOINT: ingest.url });
    try {
      // Two idle connections (headers never finished) hold every place.
      const idle = [0, 1].map(() =>
        partialRequest(s.url, `GET /healthz HTTP/1.1\r\nhost: ${new URL(s.url).host}\r\n`, ''),
      );
      for (const c of idle) await new Promise((r) => c.socket.once('connect', r));
      await until(() => s.sidecar.server.server.listening, 'listening');
      await new Promise((r) => setTimeout(r, 100)); // idle for a while (a new one may first send its request)
      // Health is still answered: the idle connection that waited longest gives way.
      expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
      expect(await idle[0]!.response).toBe('');
      expect(s.sidecar.metrics.value('fenra.otel.receiver.connections_closed', { why: 'evicted' })).toBe(1);

      // Two requests under way (bodies trickling in, but recent) hold every place: a new one is refused.
      const head = `POST /v1/traces HTTP/1.1\r\nhost: ${new URL(s.url).host}\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n`;
      idle[1]!.socket.destroy();
      // One after the other: a connection that has just opened and not yet sent a byte gives way
      // before a keep-alive served a moment ago (the fetch above), one under way does not.
      const busy = [partialRequest(s.url, head, '{')];
      await until(() => s.sidecar.metrics.value('fenra.otel.receiver.inflight_bytes') === 1, 'one under way');
      busy.push(partialRequest(s.url, head, '{'));
      await until(
        () => s.sidecar.metrics.value('fenra.otel.receiver.inflight_bytes') === 2,
        'both requests under way',
      );
      const third = partialRequest(
        s.url,
        `GET /healthz HTTP/1.1\r\nhost: ${new URL(s.url).host}\r\n\r\n`,
        '',
      );
      expect(await third.response).toBe(''); // closed on arrival
      expect(s.sidecar.metrics.value('fenra.otel.receiver.connections_closed', { why: 'refused' })).toBe(1);
      for (const b of busy) b.socket.destroy();
    } finally {
      await s.stop();
    }
  });

  it('answers 408 to a client whose headers do not arrive in time', async () => {
    const server = new RouteServer({
      headersTimeoutMillis: 200,
      requestTimeoutMillis: 400,
      timeoutCheckMillis: 50,
    });
    server.route('POST', '/x', (req, res) => {
      req.resume();
      req.on('end', () => send(res, 200, 'ok'));
    });
    const { port } = await server.listen(0, '127.0.0.1');
    try {
      const headers = partialRequest(`http://127.0.0.1:${port}`, 'POST /x HTTP/1.1\r\nhost: x\r\n', '');
      expect(await headers.response).toMatch(/^HTTP\/1.1 408 /);
      const body = partialRequest(
        `http://127.0.0.1:${port}`,
        'POST /x HTTP/1.1\r\nhost: x\r\ncontent-length: 10\r\n\r\n',
        'abc',
      );
      expect(await body.response).toMatch(/^HTTP\/1.1 408 /);
      const bad = partialRequest(`http://127.0.0.1:${port}`, 'NOT HTTP\r\n\r\n', '');
      expect(await bad.response).toMatch(/^HTTP\/1.1 400 /);
    } finally {
      await server.close(100);
    }
  });
});

describe('fenra-otel serve: shutdown', () => {
  it('--drain-ms keeps accepting (not ready) after the stop signal, then stops', async () => {
    const before = ingest.accepted.length;
    const s = await serve(['--drain-ms', '60000', '--shutdown-timeout-ms', '5000', '--flush-ms', '20'], {
      FENRA_API_KEY: 'k',
      FENRA_ENDPOINT: ingest.url,
    });
    const stopped = s.stop();
    await until(async () => (await fetch(`${s.url}/readyz`)).status === 503, 'readiness to drop');
    expect(await (await fetch(`${s.url}/readyz`)).text()).toMatch(/draining/);
    // The app's last flush, sent after the signal, is still taken and delivered.
    expect((await postJson(s.url, chatJson)).status).toBe(200);
    await until(() => ingest.accepted.length > before, 'the transaction');
    void s.sidecar.shutdown(); // a second signal ends the drain
    expect(await stopped).toBe(0);
    expect(s.stderr.text).toMatch(/draining: accepting requests for 60000 ms more/);
  });

  it('keeps one overall deadline while Fenra hangs (not a flush, then another)', async () => {
    const hanging = await startIngestServer({ apiKey: 'k' });
    hanging.script(Array.from({ length: 20 }, () => ({ kind: 'hang' as const })));
    const s = await serve(['--shutdown-timeout-ms', '2000', '--flush-ms', '20'], {
      FENRA_API_KEY: 'k',
      FENRA_ENDPOINT: hanging.url,
    });
    try {
      expect((await postJson(s.url, chatJson)).status).toBe(200);
      await until(() => hanging.requests.length > 0, 'a request to Fenra in flight');
      const t0 = Date.now();
      expect(await s.stop()).toBe(0);
      // A bound, not a speed: before, the flush ran twice (about 4 s and more).
      expect(Date.now() - t0).toBeLessThan(2000 + 1000);
    } finally {
      await hanging.close();
    }
  });
});

describe('fenra-otel serve: the other pages with a receiver token', () => {
  const external = Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

  it.skipIf(!external)(
    'need the token from other machines, not from this one (probes stay open; /metrics needs it from anywhere)',
    async () => {
      const token = join(dir, 'token2');
      writeFileSync(token, 'tok\n');
      const s = await serve(['--host', '0.0.0.0', '--receiver-token-file', token]);
      try {
        const port = s.sidecar.address.port;
        const far = `http://${external}:${port}`;
        expect((await fetch(`${far}/`)).status).toBe(401);
        expect((await fetch(`${far}/inspector/summary.json`)).status).toBe(401);
        expect((await fetch(`${far}/`, { headers: { authorization: 'Bearer tok' } })).status).toBe(200);
        for (const path of ['/healthz', '/readyz']) expect((await fetch(`${far}${path}`)).status).toBe(200);
        for (const base of [far, `http://127.0.0.1:${port}`]) {
          expect((await fetch(`${base}/metrics`)).status).toBe(401);
          expect((await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer nope' } })).status).toBe(
            401,
          );
          const m = await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer tok' } });
          expect(m.status).toBe(200);
          expect(await m.text()).toContain('fenra_otel_receiver_spans_total');
        }
        expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(200);
      } finally {
        await s.stop();
      }
    },
  );

  it('warns when it listens beyond this machine in local mode without a token', async () => {
    const s = await serve(['--host', '0.0.0.0']);
    try {
      expect(s.stderr.text).toMatch(/"level":"warn".*without a receiver token.*inspector/);
    } finally {
      await s.stop();
    }
  });
});
