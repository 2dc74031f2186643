import { describe, expect, it } from 'vitest';
import type { SendOutcome } from '../../src/fenra/response.js';
import { classifyError, classifyResponse, parsePartial, parseRetryAfter } from '../../src/fenra/response.js';

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);

function respond(status: number, body = '', headers: Record<string, string> = {}, count = 3): SendOutcome {
  return classifyResponse({ status, header: (n) => headers[n.toLowerCase()], body, count, nowMs: NOW });
}

describe('classifyResponse', () => {
  it.each([
    [202, 'accepted'],
    [200, 'accepted'],
    [400, 'rejected'],
    [401, 'unauthorized'],
    [403, 'unauthorized'],
    [404, 'misconfigured'],
    [405, 'misconfigured'],
    [410, 'misconfigured'],
    [301, 'misconfigured'],
    [308, 'misconfigured'],
    [413, 'rejected'],
    [415, 'failed'],
    [408, 'retryable'],
    [429, 'retryable'],
    [500, 'retryable'],
    [502, 'retryable'],
    [503, 'retryable'],
    [504, 'retryable'],
    [501, 'failed'],
  ])('HTTP %i is %s', (status, kind) => {
    expect(respond(status).kind).toBe(kind);
  });

  it('names a wrong endpoint and where it redirects', () => {
    expect(respond(404, '{"error":{"code":"not_found","message":"Not found"}}')).toEqual({
      kind: 'misconfigured',
      status: 404,
      message: 'HTTP 404: Not found',
    });
    expect(respond(301, '', { location: 'https://ingest.fenra.io/usage/transactions' })).toMatchObject({
      kind: 'misconfigured',
      message: expect.stringContaining('redirects to https://ingest.fenra.io/usage/transactions'),
    });
  });

  it('keeps the server message of a 401', () => {
    const o = respond(401, '{"error":{"code":"unauthorized","message":"Invalid or missing API key"}}');
    expect(o).toEqual({ kind: 'unauthorized', status: 401, message: 'Invalid or missing API key' });
  });

  it('reads Retry-After in seconds on 503 and 429', () => {
    expect(respond(503, '', { 'retry-after': '7' })).toMatchObject({ kind: 'retryable', retryAfterMs: 7000 });
    expect(respond(429, '', { 'retry-after': '2' })).toMatchObject({
      kind: 'retryable',
      reason: 'throttled',
      retryAfterMs: 2000,
    });
  });

  it('reads Retry-After as an HTTP date', () => {
    const date = new Date(NOW + 30_000).toUTCString();
    expect(respond(503, '', { 'retry-after': date })).toMatchObject({ retryAfterMs: 30_000 });
  });

  it('maps a 207 to per-index outcomes', () => {
    const body = JSON.stringify({
      results: [
        { transaction_index: 2, error: { code: 'invalid_model', message: 'bad model', status: 400 } },
        { transaction_index: 0, message_id: 'm0' },
        { transaction_index: 1, error: { code: 'internal_error', message: 'later', status: 503 } },
      ],
    });
    expect(respond(207, body)).toEqual({
      kind: 'partial',
      status: 207,
      items: [
        { status: 'accepted' },
        { status: 'retryable', message: 'later' },
        { status: 'rejected', message: 'bad model' },
      ],
    });
  });
});

describe('parsePartial (defensive)', () => {
  it.each([
    ['not json', 'unreadable 207 response'],
    ['{"status":"partial"}', '207 response without results'],
  ])('treats %s as all retryable', (body, message) => {
    expect(parsePartial(body, 2)).toEqual([
      { status: 'retryable', message },
      { status: 'retryable', message },
    ]);
  });

  it('treats indexes the server did not mention as retryable and ignores out-of-range ones', () => {
    const items = parsePartial(
      JSON.stringify({ results: [{ transaction_index: 0, message_id: 'a' }, { transaction_index: 9 }] }),
      2,
    );
    expect(items[0]).toEqual({ status: 'accepted' });
    expect(items[1]?.status).toBe('retryable');
  });

  it('accepts string errors and retryable flags', () => {
    const items = parsePartial(
      JSON.stringify({
        results: [
          { transaction_index: 0, error: 'nope' },
          { transaction_index: 1, error: { message: 'x', retryable: true } },
          { transaction_index: 2, status: 'failed', code: 'rate_limited' },
        ],
      }),
      3,
    );
    expect(items.map((i) => i.status)).toEqual(['rejected', 'retryable', 'retryable']);
  });
});

describe('parseRetryAfter', () => {
  it.each([
    [undefined, undefined],
    ['', undefined],
    ['0', 0],
    ['1.5', 1500],
    ['soon', undefined],
    [new Date(NOW - 5000).toUTCString(), 0],
    [new Date(NOW + 7000).toUTCString(), 7000],
    // Huge values never overflow a timer: clamped to 2^31-1 ms.
    ['9999999', 2 ** 31 - 1],
    ['1e400', undefined],
    ['99999999999999999999999', 2 ** 31 - 1],
    [new Date(Date.UTC(9999, 0, 1)).toUTCString(), 2 ** 31 - 1],
  ])('%s → %s', (value, expected) => {
    expect(parseRetryAfter(value, NOW)).toBe(expected);
  });
});

describe('classifyError', () => {
  const err = (code: string): Error => Object.assign(new Error('boom'), { code });
  it.each([
    [err('ECONNRESET'), 'retryable'],
    [err('ECONNREFUSED'), 'retryable'],
    [err('UND_ERR_SOCKET'), 'retryable'],
    [err('UND_ERR_HEADERS_TIMEOUT'), 'retryable'],
    [err('UND_ERR_RES_EXCEEDED_MAX_SIZE'), 'failed'],
    [Object.assign(new Error('fetch failed'), { cause: err('ECONNREFUSED') }), 'retryable'],
  ])('%s is %s', (e, kind) => {
    expect(classifyError(e, { timedOut: false, aborted: false }).kind).toBe(kind);
  });

  it('names our own timeout, and an abort we asked for', () => {
    const abort = new DOMException('aborted', 'AbortError');
    expect(classifyError(abort, { timedOut: true, aborted: false })).toMatchObject({
      kind: 'retryable',
      reason: 'timeout',
    });
    expect(classifyError(abort, { timedOut: false, aborted: true }).kind).toBe('aborted');
  });
});
