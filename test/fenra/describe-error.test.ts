/**
 * Why a request failed, in words, from the errors real undici throws against real servers on
 * loopback: DNS, refused, reset, timeout, TLS (wrong protocol, self-signed certificate).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { Server, Socket } from 'node:net';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FenraClient } from '../../src/fenra/client.js';
import { describeSendError } from '../../src/fenra/describe-error.js';
import type { SendOutcome } from '../../src/fenra/response.js';
import { makeBatch } from '../helpers/priced.js';

const servers: Server[] = [];
const sockets = new Set<Socket>();
afterAll(async () => {
  // Some of these servers never answer: their connections are cut, or close() would wait.
  for (const c of sockets) c.destroy();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

async function listen(s: Server): Promise<number> {
  servers.push(s);
  s.on('connection', (c: Socket) => {
    sockets.add(c);
    c.on('close', () => sockets.delete(c));
  });
  s.on('secureConnection', (c: Socket) => sockets.add(c));
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as { port: number }).port;
}

async function send(endpoint: string, timeoutMs = 5_000): Promise<SendOutcome> {
  const client = new FenraClient({ endpoint, apiKey: 'k', connections: 1 });
  try {
    return (await client.send(makeBatch(1), { timeoutMs })).outcome;
  } finally {
    await client.close();
  }
}

describe('the cause of a failed request, from real errors', () => {
  it('a host that does not resolve (a DNS typo)', async () => {
    const o = await send('https://ingest.fenrra.invalid/usage/transactions');
    expect(o).toMatchObject({ kind: 'retryable', reason: 'network' });
    expect(o.kind === 'retryable' && o.message).toMatch(
      /^DNS lookup of ingest\.fenrra\.invalid failed(: no such host \(ENOTFOUND\)| for now \(EAI_AGAIN\))$/,
    );
  });

  it('nothing listening (connection refused)', async () => {
    const port = await listen(createServer());
    await new Promise((r) => servers.pop()!.close(r));
    const o = await send(`http://127.0.0.1:${port}/usage/transactions`);
    expect(o).toMatchObject({
      kind: 'retryable',
      reason: 'network',
      message: `connection refused by 127.0.0.1:${port}: nothing listens there (ECONNREFUSED)`,
      cause: 'ECONNREFUSED',
    });
  });

  it('a server that closes the connection without answering', async () => {
    const port = await listen(createServer((c) => c.once('data', () => c.destroy())));
    const o = await send(`http://127.0.0.1:${port}/usage/transactions`);
    expect(o).toMatchObject({
      kind: 'retryable',
      cause: expect.stringMatching(/^(UND_ERR_SOCKET|ECONNRESET)$/),
    });
    expect(o.kind === 'retryable' && o.message).toMatch(/^the connection was closed before the answer \(/);
  });

  it('a server that never answers (our request timeout)', async () => {
    const port = await listen(createServer(() => undefined));
    const o = await send(`http://127.0.0.1:${port}/usage/transactions`, 200);
    expect(o).toMatchObject({
      kind: 'retryable',
      reason: 'timeout',
      message: 'no answer within 200 ms (timeout)',
      cause: 'timeout',
    });
  });

  it('https:// to a port that does not speak TLS', async () => {
    const port = await listen(createServer((c) => c.end('HTTP/1.1 400 Bad Request\r\n\r\n')));
    const o = await send(`https://127.0.0.1:${port}/usage/transactions`);
    expect(o).toMatchObject({ kind: 'retryable', cause: expect.stringMatching(/^(ERR_SSL_|EPROTO)/) });
    expect(o.kind === 'retryable' && o.message).toMatch(/^TLS failed: /);
  });

  it('a self-signed certificate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fenra-tls-'));
    try {
      // A throwaway key and certificate, made here (Debian's openssl), never stored.
      execFileSync(
        'openssl',
        ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1'].concat([
          '-keyout',
          join(dir, 'key.pem'),
          '-out',
          join(dir, 'cert.pem'),
        ]),
        { stdio: 'ignore' },
      );
      const server = createHttpsServer(
        { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) },
        (_req, res) => res.end('{}'),
      );
      const port = await listen(server);
      const o = await send(`https://127.0.0.1:${port}/usage/transactions`);
      expect(o).toMatchObject({
        kind: 'retryable',
        reason: 'network',
        message: 'TLS failed: the server presented a self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT)',
        cause: 'DEPTH_ZERO_SELF_SIGNED_CERT',
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('describeSendError', () => {
  it('reads the innermost code (fetch wraps the socket error in cause)', () => {
    const inner = Object.assign(new Error('getaddrinfo ENOTFOUND api.example'), {
      code: 'ENOTFOUND',
      hostname: 'api.example',
    });
    expect(describeSendError(new TypeError('fetch failed', { cause: inner }))).toEqual({
      cause: 'ENOTFOUND',
      text: 'DNS lookup of api.example failed: no such host (ENOTFOUND)',
    });
  });

  it('keeps the first line of a long message, with its code', () => {
    const e = Object.assign(new Error('first line\n/path/to/openssl/source.c:350'), { code: 'E_ODD' });
    expect(describeSendError(e)).toEqual({ cause: 'E_ODD', text: 'first line (E_ODD)' });
  });
});
