import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { IngestServer } from '../helpers/ingest-server.js';
import { startIngestServer } from '../helpers/ingest-server.js';
import { makePriced } from '../helpers/priced.js';
import { renderTransaction } from '../../src/fenra/render-transaction.js';

/** The fake must hold the client to the documented contract, or the pipeline tests prove little. */
let server: IngestServer;
beforeEach(async () => {
  server = await startIngestServer({ apiKey: 'k1' });
});
afterEach(() => server.close());

async function post(
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: unknown }> {
  const res = await fetch(server.url, {
    method: 'POST',
    headers: { 'x-api-key': 'k1', 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

describe('test ingest server', () => {
  it('answers a bulk request 202 with per-index results and records it', async () => {
    const t = [renderTransaction(makePriced()), renderTransaction(makePriced())];
    const r = await post({ transactions: t });
    expect(r.status).toBe(202);
    expect(r.json).toMatchObject({
      status: 'queued',
      events_queued: 2,
      message: '2 transaction(s) queued for processing',
      results: [{ transaction_index: 0 }, { transaction_index: 1 }],
    });
    expect(server.accepted.map((a) => a.transaction)).toEqual(t);
  });

  it('accepts a single transaction body', async () => {
    const r = await post(renderTransaction(makePriced()));
    expect(r.status).toBe(202);
    expect(r.json).toMatchObject({ status: 'queued', events_queued: 1 });
    expect(server.accepted).toHaveLength(1);
  });

  it('answers 401 with the documented body for a wrong or missing key', async () => {
    const r = await post({ transactions: [renderTransaction(makePriced())] }, { 'x-api-key': 'nope' });
    expect(r).toEqual({
      status: 401,
      json: { error: { code: 'unauthorized', message: 'Invalid or missing API key' } },
    });
    expect(server.accepted).toHaveLength(0);
  });

  it('refuses a non-JSON content type, bad JSON, an empty bulk and an invalid transaction', async () => {
    const good = renderTransaction(makePriced());
    const bad = { ...good, usage: [] };
    const answers = [
      await post(JSON.stringify({ transactions: [good] }), { 'content-type': 'text/plain' }),
      await post('{not json'),
      await post({ transactions: [] }),
      await post({ transactions: [good, bad] }),
      await post({ ...good, extra: 1 }),
    ];
    expect(answers.map((a) => a.status)).toEqual([400, 400, 400, 400, 400]);
    expect(answers[3]?.json).toMatchObject({
      error: { code: 'validation_error', details: { transaction_index: 1 } },
    });
    expect(server.accepted).toHaveLength(0);
  });

  it('plays a script in order, then accepts', async () => {
    server.script([
      { kind: 'status', status: 503, retryAfter: '4' },
      { kind: 'partial', failed: [{ index: 0, retryable: false }] },
    ]);
    const t = [renderTransaction(makePriced()), renderTransaction(makePriced())];
    const a = await fetch(server.url, {
      method: 'POST',
      headers: { 'x-api-key': 'k1', 'content-type': 'application/json' },
      body: JSON.stringify({ transactions: t }),
    });
    expect(a.status).toBe(503);
    expect(a.headers.get('retry-after')).toBe('4');
    await a.arrayBuffer();
    const b = await post({ transactions: t });
    expect(b.status).toBe(207);
    expect(b.json).toMatchObject({
      results: [{ transaction_index: 0, error: {} }, { transaction_index: 1 }],
    });
    const c = await post({ transactions: t });
    expect(c.status).toBe(202);
    expect(server.accepted).toHaveLength(3);
    expect(server.requests.map((r) => r.reply)).toEqual(['status', 'partial', 'accept']);
    expect(server.pending()).toBe(0);
  });
});
