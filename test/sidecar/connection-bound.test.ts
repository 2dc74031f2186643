/**
 * Which connection gives way at the connection bound, on a clock the test moves: a flood of
 * sockets that reconnect as fast as they are closed is always "young", and must still not push
 * out an exporter's keep-alive connection served a moment ago.
 */
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RouteServer, send } from '../../src/sidecar/http-server.js';

interface Client {
  socket: Socket;
  closed: Promise<void>;
  /** Sends a keep-alive GET and resolves with the status line of its answer. */
  get: () => Promise<string>;
}

function client(port: number): Promise<Client> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.on('error', () => undefined);
    const get = (): Promise<string> =>
      new Promise((r) => {
        let text = '';
        const onData = (c: Buffer): void => {
          text += c.toString();
          if (text.includes('\r\n\r\n') && text.endsWith('ok')) {
            socket.off('data', onData);
            r(text.split('\r\n')[0]!);
          }
        };
        socket.on('data', onData);
        socket.write('GET /x HTTP/1.1\r\nhost: x\r\n\r\n');
      });
    socket.once('connect', () => resolve({ socket, closed, get }));
    socket.once('error', reject);
  });
}

const open: Socket[] = [];
let server: RouteServer | undefined;
afterEach(async () => {
  for (const s of open.splice(0)) s.destroy();
  await server?.close(100);
  server = undefined;
});

async function start(max: number, clock: { t: number }): Promise<{ port: number; closed: string[] }> {
  const closed: string[] = [];
  server = new RouteServer({
    maxConnections: max,
    now: () => clock.t,
    onConnectionClosed: (why) => closed.push(why),
  });
  server.route('GET', '/x', (_req, res) => send(res, 200, 'ok'));
  const { port } = await server.listen(0, '127.0.0.1');
  return { port, closed };
}

/** Waits until the server has taken `n` connections (its 'connection' event ran for each). */
async function connected(n: number): Promise<void> {
  for (let i = 0; i < 200 && (await count()) < n; i++) await new Promise((r) => setTimeout(r, 5));
}
function count(): Promise<number> {
  return new Promise((r) => server!.server.getConnections((_e, c) => r(c)));
}

describe('the connection bound', () => {
  it('keeps a keep-alive connection served a moment ago while any unserved one is left, however young', async () => {
    const clock = { t: 1_000 };
    const { port, closed } = await start(3, clock);
    const exporter = await client(port);
    open.push(exporter.socket);
    expect(await exporter.get()).toMatch(/ 200 /);
    // Two sockets that never send a byte, both younger than 50 ms on the server's clock.
    clock.t += 10;
    const flood = [await client(port), await client(port)];
    open.push(...flood.map((f) => f.socket));
    await connected(3);
    clock.t += 10;
    const newcomer = await client(port);
    open.push(newcomer.socket);
    await flood[0]!.closed; // the oldest unserved one gave way, young as it was
    expect(closed).toEqual(['evicted']);
    expect(await exporter.get()).toMatch(/ 200 /); // the keep-alive was kept
    expect(await newcomer.get()).toMatch(/ 200 /);
  });

  it('lets a served connection idle for a second give way before a fresh unserved one', async () => {
    const clock = { t: 1_000 };
    const { port, closed } = await start(2, clock);
    const exporter = await client(port);
    open.push(exporter.socket);
    expect(await exporter.get()).toMatch(/ 200 /);
    clock.t += 1_000; // the keep-alive has been idle a second
    const fresh = await client(port);
    open.push(fresh.socket);
    await connected(2);
    clock.t += 10; // the unserved one is 10 ms old: it may be sending its first request
    const newcomer = await client(port);
    open.push(newcomer.socket);
    await exporter.closed;
    expect(closed).toEqual(['evicted']);
    expect(fresh.socket.destroyed).toBe(false);
  });

  it('with no unserved connection, the served one idle longest gives way', async () => {
    const clock = { t: 1_000 };
    const { port, closed } = await start(2, clock);
    const a = await client(port);
    const b = await client(port);
    open.push(a.socket, b.socket);
    expect(await a.get()).toMatch(/ 200 /);
    clock.t += 5;
    expect(await b.get()).toMatch(/ 200 /);
    clock.t += 5;
    const newcomer = await client(port);
    open.push(newcomer.socket);
    await a.closed;
    expect(closed).toEqual(['evicted']);
    expect(await b.get()).toMatch(/ 200 /);
  });

  it('lets a keep-alive served a moment ago give way to a new connection already sending its first request', async () => {
    const clock = { t: 1_000 };
    const { port, closed } = await start(2, clock);
    const exporter = await client(port);
    open.push(exporter.socket);
    expect(await exporter.get()).toMatch(/ 200 /);
    // A new client whose request headers are still arriving (bytes read, no request yet).
    const sending = await client(port);
    open.push(sending.socket);
    sending.socket.write('GET /x HTTP/1.1\r\nhost: x\r\n');
    await connected(2);
    for (let i = 0; i < 200 && sending.socket.bytesWritten === 0; i++)
      await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 20)); // read by the server
    clock.t += 10;
    const newcomer = await client(port);
    open.push(newcomer.socket);
    await exporter.closed;
    expect(closed).toEqual(['evicted']);
    expect(sending.socket.destroyed).toBe(false);
  });
});
