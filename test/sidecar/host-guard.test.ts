import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allowedEntries, hostGuard, parseHostPort } from '../../src/sidecar/host-guard.js';
import type { ServedInProcess } from '../helpers/serve-in-process.js';
import { serveInProcess } from '../helpers/serve-in-process.js';
import { recordedFixtures } from './otlp-replay.js';

/**
 * The Host/Origin allow-list on every route, against DNS rebinding: real HTTP requests to a
 * real sidecar, with forged Host and Origin headers (node:http sends them as given).
 */

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fenra-hosts-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `serve` in this process without a key: local mode, with the inspector (customer ids and spend) served. */
function serve(args: string[], env: Record<string, string> = {}): Promise<ServedInProcess> {
  return serveInProcess(['--port', '0', ...args], {
    FENRA_DATA_DIR: join(dir, `sink-${Math.random()}`),
    ...env,
  });
}

/** One request to 127.0.0.1:port with exactly these headers (Host included). */
function call(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers, setHost: false }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const chat = JSON.stringify(recordedFixtures().find((f) => f.name === 'openai-chat')!.json);

describe('Host and Origin headers: parsing and the default list', () => {
  it('parses host[:port], IPv6 in brackets, case and a trailing dot', () => {
    expect(parseHostPort('LocalHost.:4318')).toEqual({ name: 'localhost', port: 4318 });
    expect(parseHostPort('[::1]:80')).toEqual({ name: '[::1]', port: 80 });
    expect(parseHostPort('example.com')).toEqual({ name: 'example.com', port: undefined });
    expect(parseHostPort('a:b')).toBeUndefined();
    expect(parseHostPort('[::1')).toBeUndefined();
  });

  it('loopback names on the port, plus the host listened on; any name on every interface', () => {
    expect(allowedEntries({ host: '127.0.0.1', port: 4318 })).toEqual([
      { name: 'localhost', port: 4318 },
      { name: '127.0.0.1', port: 4318 },
      { name: '[::1]', port: 4318 },
      { name: '127.0.0.1', port: 4318 },
    ]);
    expect(allowedEntries({ host: '10.1.2.3', port: 1 }).toString()).not.toBe('any');
    expect(allowedEntries({ host: '0.0.0.0', port: 1 })).toBe('any');
    expect(allowedEntries({ host: '::', port: 1 })).toBe('any');
    expect(allowedEntries({ host: '0.0.0.0', port: 1, allowed: ['fenra.internal'] })).toContainEqual({
      name: 'fenra.internal',
      port: undefined,
    });
    const check = hostGuard({ host: '127.0.0.1', port: 4318 });
    expect(check({ host: '127.0.0.1:4318' })).toEqual({ ok: true });
    expect(check({ host: 'localhost:4319' })).toMatchObject({ ok: false, why: 'host' });
    expect(check({ host: 'localhost:4318', origin: 'null' })).toMatchObject({ ok: false, why: 'origin' });
    expect(check({ host: 'localhost:4318', origin: 'http://localhost:4318' })).toEqual({ ok: true });
  });
});

describe('the sidecar on loopback (the default): a page elsewhere can neither read nor post', () => {
  let s: Awaited<ReturnType<typeof serve>>;
  let port: number;
  beforeAll(async () => {
    s = await serve([]);
    port = s.sidecar.address.port;
  });
  afterAll(() => s.stop());

  it('serves the loopback names with the port', async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `LOCALHOST:${port}`]) {
      expect((await call(port, 'GET', '/inspector/summary.json', { host })).status, host).toBe(200);
    }
  });

  it('DNS rebinding: a Host naming another site gets 403 on every route, known or not', async () => {
    for (const path of ['/', '/inspector/summary.json', '/metrics', '/healthz', '/readyz', '/nope']) {
      const r = await call(port, 'GET', path, { host: `evil.example:${port}` });
      expect(r.status, path).toBe(403);
      expect(r.text).not.toContain('billable');
    }
    expect((await call(port, 'GET', '/healthz', { host: `localhost:${port + 1}` })).status).toBe(403);
  });

  it('DNS rebinding and cross-site posts: no span is taken', async () => {
    const before = s.sidecar.metrics.value('fenra.otel.receiver.spans', { encoding: 'json' });
    const json = { 'content-type': 'application/json' };
    const tries: Record<string, string>[] = [
      { host: `evil.example:${port}`, ...json },
      { host: `evil.example:${port}`, origin: `http://evil.example:${port}`, ...json },
      { host: `127.0.0.1:${port}`, origin: 'http://evil.example', ...json },
      { host: `127.0.0.1:${port}`, origin: 'null', 'content-type': 'text/plain' },
      { host: `127.0.0.1:${port}`, origin: `https://127.0.0.1.evil.example:${port}`, ...json },
    ];
    for (const headers of tries) {
      expect((await call(port, 'POST', '/v1/traces', headers, chat)).status, JSON.stringify(headers)).toBe(
        403,
      );
    }
    expect(s.sidecar.metrics.value('fenra.otel.receiver.spans', { encoding: 'json' })).toBe(before);
    expect(
      s.sidecar.metrics.value('fenra.otel.receiver.requests_refused', { header: 'host' }),
    ).toBeGreaterThan(0);
    expect(
      s.sidecar.metrics.value('fenra.otel.receiver.requests_refused', { header: 'origin' }),
    ).toBeGreaterThan(0);
    // Explained once, in a JSON log line.
    expect(s.stderr.text.match(/refused a request with/g)).toHaveLength(1);
    // The same request from this machine's own names is taken.
    const ok = await call(port, 'POST', '/v1/traces', { host: `localhost:${port}`, ...json }, chat);
    expect(ok.status).toBe(200);
    const same = await call(
      port,
      'POST',
      '/v1/traces',
      { host: `127.0.0.1:${port}`, origin: `http://127.0.0.1:${port}`, ...json },
      chat,
    );
    expect(same.status).toBe(200);
  });
});

describe('--allowed-hosts and --host', () => {
  it('an operator list adds names (any port without one); others are still refused', async () => {
    const s = await serve(['--allowed-hosts', 'fenra.internal, collector.svc:9999']);
    const port = s.sidecar.address.port;
    try {
      expect((await call(port, 'GET', '/healthz', { host: 'fenra.internal' })).status).toBe(200);
      expect((await call(port, 'GET', '/healthz', { host: 'fenra.internal:1234' })).status).toBe(200);
      expect((await call(port, 'GET', '/healthz', { host: 'collector.svc:9999' })).status).toBe(200);
      expect((await call(port, 'GET', '/healthz', { host: 'collector.svc:9998' })).status).toBe(403);
      expect((await call(port, 'GET', '/healthz', { host: `evil.example:${port}` })).status).toBe(403);
      expect((await call(port, 'GET', '/healthz', { host: `127.0.0.1:${port}` })).status).toBe(200);
    } finally {
      await s.stop();
    }
  });

  it('on every interface any Host is served, but a foreign Origin still cannot post', async () => {
    const s = await serve(['--host', '0.0.0.0']);
    const port = s.sidecar.address.port;
    try {
      expect((await call(port, 'GET', '/healthz', { host: `10.0.0.7:${port}` })).status).toBe(200);
      const post = (headers: Record<string, string>) =>
        call(port, 'POST', '/v1/traces', { 'content-type': 'application/json', ...headers }, chat);
      expect((await post({ host: `10.0.0.7:${port}`, origin: 'http://evil.example' })).status).toBe(403);
      expect((await post({ host: `10.0.0.7:${port}`, origin: `http://10.0.0.7:${port}` })).status).toBe(200);
      expect((await post({ host: `10.0.0.7:${port}` })).status).toBe(200);
    } finally {
      await s.stop();
    }
  });

  it('FENRA_ALLOWED_HOSTS is read too', async () => {
    const s = await serve([], { FENRA_ALLOWED_HOSTS: 'from-env.example' });
    try {
      expect(
        (await call(s.sidecar.address.port, 'GET', '/healthz', { host: 'from-env.example' })).status,
      ).toBe(200);
    } finally {
      await s.stop();
    }
  });
});
