import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runServe } from '../../src/cli/serve.js';
import type { ServeIo } from '../../src/cli/serve.js';
import { resolveServeConfig } from '../../src/sidecar/serve-config.js';
import type { RunningSidecar } from '../../src/sidecar/sidecar.js';
import type { IngestServer } from '../helpers/ingest-server.js';
import { startIngestServer } from '../helpers/ingest-server.js';
import { recordedFixtures } from './otlp-replay.js';
import { until } from './spawn-sidecar.js';

/** `runServe` in-process: options, security, pass-through, back-pressure, readiness, shutdown. */
class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: string, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

interface Running {
  url: string;
  sidecar: RunningSidecar;
  stderr: Sink;
  stop(): Promise<number>;
}

async function serve(args: string[], env: Record<string, string> = {}): Promise<Running> {
  const stderr = new Sink();
  const ctl = new AbortController();
  let ready!: (s: RunningSidecar) => void;
  const started = new Promise<RunningSidecar>((r) => (ready = r));
  const io: ServeIo = {
    stdout: new Sink(),
    stderr,
    // Without an API key serve runs in local mode: keep its sink out of the working directory.
    env: { FENRA_DATA_DIR: join(dir, 'local-sink'), ...env },
    stop: ctl.signal,
    handleSignals: false,
    onReady: ready,
  };
  const done = runServe(['--port', '0', ...args], io);
  const sidecar = await Promise.race([
    started,
    done.then((code) => Promise.reject(new Error(`exited ${code}: ${stderr.text}`))),
  ]);
  return {
    url: `http://127.0.0.1:${sidecar.address.port}`,
    sidecar,
    stderr,
    stop: () => {
      ctl.abort();
      return done;
    },
  };
}

async function run(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; out: string; err: string }> {
  const stdout = new Sink();
  const stderr = new Sink();
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

  it('flags beat environment variables, which beat the config file, which beats the defaults', () => {
    const { config, problems } = resolveServeConfig({
      flags: { port: '9000' },
      env: { FENRA_SERVE_PORT: '9001', FENRA_SERVE_HOST: '0.0.0.0', FENRA_API_KEY: 'env-key' },
      file: { port: 9002, host: '10.0.0.1', traceWaitMillis: 1234, spoolDir: '/var/spool' },
    });
    expect(problems).toEqual([]);
    expect(config).toMatchObject({
      port: 9000,
      host: '0.0.0.0',
      traceWaitMillis: 1234,
      spoolDir: '/var/spool',
      apiKey: 'env-key',
    });
    expect(config.maxBodyBytes).toBe(20 * 1024 * 1024);
  });

  it('says so when the port is taken', async () => {
    const first = await serve(['--endpoint', ingest.url]);
    const r = await run(['--port', String(first.sidecar.address.port), '--endpoint', ingest.url]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/already in use/);
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

  it('when the spool is full it answers 503 with Retry-After and is not ready', async () => {
    const spool = join(dir, 'full');
    // ~100 bytes: the first record fills it (the LLM span waits for its root, so it stays).
    const s = await serve([
      '--endpoint',
      ingest.url,
      '--spool-dir',
      spool,
      '--spool-max-mb',
      '0.0001',
      '--trace-wait-ms',
      '60000',
      '--retry-after-s',
      '7',
    ]);
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
      expect(metrics).toMatch(/^fenra_otel_queue_transactions 1$/m);
      expect(s.stderr.text).toMatch(/"level":"error".*rejected the API key/);
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
