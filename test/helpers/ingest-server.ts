import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { FenraTransaction } from '../../src/fenra/transaction-schema.js';
import { fenraTransactionSchema } from '../../src/fenra/transaction-schema.js';

/**
 * A fake Fenra ingest endpoint (node:http on 127.0.0.1, port 0) that follows
 * shared/reference/fenra-api.md strictly and can be scripted to fail, request by request.
 */

/** What the server does with one request. Unscripted requests get `{ kind: 'accept' }`. */
export type Reply =
  /** Validate, record and answer 202 (the documented body). */
  | { kind: 'accept' }
  /** Answer this status (500, 503, 429, 408, 404, ...) without recording anything. */
  | { kind: 'status'; status: number; retryAfter?: string; body?: unknown }
  /** 207: record all but `failed` (request positions); failed ones say whether to retry. */
  | { kind: 'partial'; failed: readonly { index: number; retryable: boolean }[] }
  /** 400 with an `error` object, nothing recorded. */
  | { kind: 'reject'; message?: string }
  /** 401 with the documented body, whatever the key. */
  | { kind: 'unauthorized' }
  /** Wait `delayMs`, then do `then` (default accept) — past the client's timeout, usually. */
  | { kind: 'slow'; delayMs: number; then?: Reply }
  /** Destroy the socket before answering. */
  | { kind: 'reset' }
  /** Validate and record the transactions, then never answer (until close). */
  | { kind: 'hang' }
  /** Validate and record the transactions at once, answer 202 after `delayMs` (Fenra slower than the client's timeout). */
  | { kind: 'late'; delayMs: number };

export interface RecordedRequest {
  /** 0-based, in arrival order. */
  index: number;
  /** `Date.now()` at arrival. */
  atMs: number;
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  bytes: number;
  /** The body as received (UTF-8), for tests that check what was sent. */
  body: string;
  /** Transactions in the body (0 if unreadable). */
  count: number;
  /** The reply given (`auth` / `invalid` when the contract checks answered 401 / 400). */
  reply: Reply['kind'] | 'auth' | 'invalid' | 'rule';
  status: number | undefined;
}

export interface AcceptedTransaction {
  transaction: FenraTransaction;
  requestIndex: number;
  messageId: string;
}

export interface IngestServerOptions {
  /** Key the server accepts in `X-Api-Key`. Default `test-key`. */
  apiKey?: string;
  /** Path served. Default `/usage/transactions`. */
  path?: string;
  /**
   * A server-side rule beyond the schema: return a message to refuse the transaction; a batch
   * holding one refused transaction is answered 400 as a whole.
   */
  rule?: (t: FenraTransaction) => string | undefined;
  /** Largest body read, bytes. Default 5 MiB (413 beyond). */
  maxBodyBytes?: number;
}

export interface IngestServer {
  /** Full endpoint URL, e.g. `http://127.0.0.1:5123/usage/transactions`. */
  readonly url: string;
  /** Transactions recorded as queued, in order (duplicates included). */
  readonly accepted: AcceptedTransaction[];
  readonly requests: RecordedRequest[];
  /** Most requests open at the same time so far. */
  maxConcurrent(): number;
  /** TCP connections accepted so far (keep-alive reuse shows as fewer connections than requests). */
  connections(): number;
  /** Replies for the next requests, in order (appended to what is still scripted). */
  script(plan: readonly Reply[]): void;
  /** The reply to requests nothing is scripted for (default `accept`): an outage, a storm of 400s. */
  setDefault(reply: Reply | undefined): void;
  /** Scripted replies not used yet. */
  pending(): number;
  setApiKey(key: string): void;
  setRule(rule: IngestServerOptions['rule']): void;
  /** Resolves when at least `n` requests have arrived. */
  waitForRequests(n: number): Promise<void>;
  close(): Promise<void>;
}

const UNAUTHORIZED = { error: { code: 'unauthorized', message: 'Invalid or missing API key' } };

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function validationError(message: string, details?: unknown): unknown {
  return { error: { code: 'validation_error', message, ...(details === undefined ? {} : { details }) } };
}

export async function startIngestServer(options: IngestServerOptions = {}): Promise<IngestServer> {
  let apiKey = options.apiKey ?? 'test-key';
  let rule = options.rule;
  const path = options.path ?? '/usage/transactions';
  const maxBody = options.maxBodyBytes ?? 5 * 1024 * 1024;
  const accepted: AcceptedTransaction[] = [];
  const requests: RecordedRequest[] = [];
  const plan: Reply[] = [];
  let fallback: Reply | undefined;
  const sockets = new Set<Socket>();
  const hanging = new Set<ServerResponse>();
  let waiters: { n: number; resolve: () => void }[] = [];
  let open = 0;
  let maxOpen = 0;
  let connections = 0;

  const notify = (): void => {
    waiters = waiters.filter((w) => {
      if (requests.length >= w.n) w.resolve();
      return requests.length < w.n;
    });
  };

  const readBody = (req: IncomingMessage): Promise<Buffer | undefined> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= maxBody) chunks.push(c);
      });
      req.on('end', () => resolve(size > maxBody ? undefined : Buffer.concat(chunks)));
      req.on('error', reject);
    });

  const record = (
    transactions: FenraTransaction[],
    requestIndex: number,
  ): { transaction_index: number; message_id: string }[] =>
    transactions.map((transaction, i) => {
      const messageId = randomUUID();
      accepted.push({ transaction, requestIndex, messageId });
      return { transaction_index: i, message_id: messageId };
    });

  const queued = (results: { transaction_index: number; message_id: string }[], bulk: boolean): unknown => ({
    status: 'queued',
    events_queued: results.length,
    message: `${results.length} transaction(s) queued for processing`,
    ...(bulk ? { results } : {}),
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const entry: RecordedRequest = {
      index: requests.length,
      atMs: Date.now(),
      method: req.method ?? '',
      path: req.url ?? '',
      headers: req.headers,
      bytes: 0,
      body: '',
      count: 0,
      reply: 'accept',
      status: undefined,
    };
    const reply: Reply = plan.shift() ?? fallback ?? { kind: 'accept' };
    const body = await readBody(req);
    entry.bytes = body?.length ?? maxBody + 1;
    entry.body = body?.toString('utf8') ?? '';
    requests.push(entry);
    notify();

    const answer = (
      status: number,
      json: unknown,
      kind: RecordedRequest['reply'],
      headers?: Record<string, string>,
    ) => {
      entry.status = status;
      entry.reply = kind;
      sendJson(res, status, json, headers);
    };

    if (req.method !== 'POST')
      return answer(405, { error: { code: 'method_not_allowed', message: 'POST only' } }, 'invalid');
    if ((req.url ?? '').split('?')[0] !== path)
      return answer(404, { error: { code: 'not_found', message: 'Not found' } }, 'invalid');
    if (reply.kind === 'unauthorized' || req.headers['x-api-key'] !== apiKey) {
      return answer(401, UNAUTHORIZED, reply.kind === 'unauthorized' ? 'unauthorized' : 'auth');
    }
    if (body === undefined) return answer(413, validationError('request body too large'), 'invalid');
    const contentType = req.headers['content-type'] ?? '';
    if (!/^application\/json\b/i.test(contentType)) {
      return answer(400, validationError('Content-Type must be application/json'), 'invalid');
    }

    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      return answer(400, validationError('body is not valid JSON'), 'invalid');
    }
    const bulk = typeof parsed === 'object' && parsed !== null && 'transactions' in parsed;
    const raw: unknown[] = bulk
      ? ((parsed as { transactions: unknown }).transactions as unknown[])
      : [parsed];
    if (!Array.isArray(raw) || raw.length === 0) {
      return answer(400, validationError('transactions must be a non-empty array'), 'invalid');
    }
    entry.count = raw.length;
    if (bulk && Object.keys(parsed as object).length !== 1) {
      return answer(400, validationError('unexpected fields beside transactions'), 'invalid');
    }
    const transactions: FenraTransaction[] = [];
    for (const [i, t] of raw.entries()) {
      const result = fenraTransactionSchema().safeParse(t);
      if (!result.success) {
        return answer(
          400,
          validationError(`transaction ${i} is invalid`, {
            transaction_index: i,
            issues: result.error.issues,
          }),
          'invalid',
        );
      }
      transactions.push(result.data);
    }
    if (rule !== undefined) {
      for (const [i, t] of transactions.entries()) {
        const why = rule(t);
        if (why !== undefined) return answer(400, validationError(why, { transaction_index: i }), 'rule');
      }
    }
    await act(reply, transactions, bulk, entry, res, answer);
  }

  async function act(
    reply: Reply,
    transactions: FenraTransaction[],
    bulk: boolean,
    entry: RecordedRequest,
    res: ServerResponse,
    answer: (
      status: number,
      json: unknown,
      kind: RecordedRequest['reply'],
      headers?: Record<string, string>,
    ) => void,
  ): Promise<void> {
    switch (reply.kind) {
      case 'accept':
        return answer(202, queued(record(transactions, entry.index), bulk), 'accept');
      case 'status': {
        const headers: Record<string, string> =
          reply.retryAfter === undefined ? {} : { 'retry-after': reply.retryAfter };
        return answer(
          reply.status,
          reply.body ?? { error: { code: 'scripted', message: `scripted ${reply.status}` } },
          'status',
          headers,
        );
      }
      case 'partial': {
        const failed = new Map(reply.failed.map((f) => [f.index, f.retryable]));
        const results = transactions.map((t, i) => {
          const retryable = failed.get(i);
          if (retryable === undefined)
            return record([t], entry.index).map((r) => ({ ...r, transaction_index: i }))[0];
          return retryable
            ? {
                transaction_index: i,
                error: { code: 'internal_error', message: 'temporarily unavailable', status: 503 },
              }
            : {
                transaction_index: i,
                error: { code: 'invalid_model', message: 'model not allowed', status: 400 },
              };
        });
        const ok = results.filter((r) => r !== undefined && 'message_id' in r).length;
        return answer(
          207,
          {
            status: 'partial',
            events_queued: ok,
            message: `${ok} transaction(s) queued for processing`,
            results,
          },
          'partial',
        );
      }
      case 'reject':
        return answer(400, validationError(reply.message ?? 'rejected by a server rule'), 'reject');
      case 'unauthorized':
        return answer(401, UNAUTHORIZED, 'unauthorized');
      case 'slow':
        await new Promise((r) => setTimeout(r, reply.delayMs));
        if (res.destroyed) {
          entry.reply = 'slow';
          return;
        }
        await act(reply.then ?? { kind: 'accept' }, transactions, bulk, entry, res, answer);
        entry.reply = 'slow';
        return;
      case 'reset':
        entry.reply = 'reset';
        res.socket?.destroy();
        return;
      case 'hang':
        entry.reply = 'hang';
        record(transactions, entry.index);
        hanging.add(res);
        return;
      case 'late': {
        entry.reply = 'late';
        const results = record(transactions, entry.index);
        await new Promise((r) => setTimeout(r, reply.delayMs));
        if (res.destroyed) return;
        entry.status = 202;
        sendJson(res, 202, queued(results, bulk));
        return;
      }
    }
  }

  const server = createServer((req, res) => {
    open++;
    maxOpen = Math.max(maxOpen, open);
    res.on('close', () => open--);
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: { code: 'test_server', message: String(err) } });
    });
  });
  server.on('connection', (s: Socket) => {
    connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}${path}`,
    accepted,
    requests,
    maxConcurrent: () => maxOpen,
    connections: () => connections,
    script: (replies) => {
      plan.push(...replies);
    },
    setDefault: (reply) => {
      fallback = reply;
    },
    pending: () => plan.length,
    setApiKey: (key) => {
      apiKey = key;
    },
    setRule: (r) => {
      rule = r;
    },
    waitForRequests: (n) =>
      requests.length >= n ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ n, resolve })),
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
