import { readFileSync } from 'node:fs';
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { isTracingSuppressed } from '@opentelemetry/core';
import type { Dispatcher } from 'undici';
import { Agent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FenraClient, USER_AGENT } from '../../src/fenra/client.js';
import type { IngestServer } from '../helpers/ingest-server.js';
import { startIngestServer } from '../helpers/ingest-server.js';
import { makeBatch } from '../helpers/priced.js';

let server: IngestServer;
beforeEach(async () => {
  server = await startIngestServer({ apiKey: 'k1' });
});
afterEach(() => server.close());

describe('FenraClient', () => {
  it('posts a bulk body and classifies 202', async () => {
    const client = new FenraClient({ endpoint: server.url, apiKey: 'k1', connections: 1 });
    const r = await client.send(makeBatch(2), { timeoutMs: 2000 });
    await client.close();
    expect(r.outcome).toEqual({ kind: 'accepted', status: 202 });
    expect(r.bytes).toBe(server.requests[0]?.bytes);
    expect(server.requests[0]?.headers['user-agent']).toBe(USER_AGENT);
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    expect(USER_AGENT).toBe(`@fenra/otel/${pkg.version}`);
  });

  it('reports a wrong key as unauthorized with the server message', async () => {
    const client = new FenraClient({ endpoint: server.url, apiKey: 'wrong', connections: 1 });
    const r = await client.send(makeBatch(1), { timeoutMs: 2000 });
    await client.close();
    expect(r.outcome).toEqual({ kind: 'unauthorized', status: 401, message: 'Invalid or missing API key' });
  });

  it('times out a request that is never answered', async () => {
    server.script([{ kind: 'hang' }]);
    const client = new FenraClient({ endpoint: server.url, apiKey: 'k1', connections: 1 });
    const r = await client.send(makeBatch(1), { timeoutMs: 100 });
    await client.close();
    // The server recorded it: a resend may be a copy.
    expect(r.outcome).toMatchObject({ kind: 'retryable', reason: 'timeout', maybeDelivered: true });
  });

  it('stops a request when the caller aborts it, and says so', async () => {
    server.script([{ kind: 'hang' }]);
    const client = new FenraClient({ endpoint: server.url, apiKey: 'k1', connections: 1 });
    const caller = new AbortController();
    const sent = client.send(makeBatch(1), { timeoutMs: 60_000, signal: caller.signal });
    while (server.requests.length === 0) await new Promise((r) => setImmediate(r));
    caller.abort();
    const r = await sent;
    await client.close();
    expect(r.outcome).toEqual({ kind: 'aborted', message: 'request aborted' });
  });

  it('sends nothing when the caller aborted before the request', async () => {
    const client = new FenraClient({ endpoint: server.url, apiKey: 'k1', connections: 1 });
    const r = await client.send(makeBatch(1), { timeoutMs: 2000, signal: AbortSignal.abort() });
    await client.close();
    expect(r.outcome).toEqual({ kind: 'aborted', message: 'request aborted' });
    expect(server.requests).toHaveLength(0);
  });

  it('renders the wire body from priced transactions', async () => {
    const client = new FenraClient({ endpoint: server.url, apiKey: 'k1', connections: 1 });
    const [t] = makeBatch(1);
    await client.send([t!], { timeoutMs: 2000 });
    await client.close();
    expect(server.accepted[0]?.transaction.context['span_id']).toBe(t!.span.spanId);
  });

  it('sends with tracing suppressed', async () => {
    const manager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(manager);
    const seen: boolean[] = [];
    const agent = new Agent();
    const spy = Object.create(agent) as Dispatcher;
    spy.dispatch = (opts, handler) => {
      seen.push(isTracingSuppressed(context.active()));
      return agent.dispatch(opts, handler);
    };
    try {
      const client = new FenraClient({ endpoint: server.url, apiKey: 'k1', connections: 1, dispatcher: spy });
      await client.send(makeBatch(1), { timeoutMs: 2000 });
      await client.close();
      expect(seen).toEqual([true]);
      expect(isTracingSuppressed(context.active())).toBe(false);
    } finally {
      await agent.close();
      context.disable();
    }
  });
});
