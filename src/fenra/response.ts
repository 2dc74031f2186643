/**
 * Pure classification of one `POST /usage/transactions` outcome (see fenra-api.md). No I/O,
 * no logging: the client feeds it the status, headers and body text it read, or the error it
 * caught, and acts on the returned value.
 *
 * Decisions where the public docs are silent:
 * - 207: `results[]` entries keyed by `transaction_index`. An entry with a `message_id` and no
 *   error is accepted. An entry with an error is retryable when its status is 408/429/5xx or it
 *   says `retryable: true` (or its code names a transient condition), otherwise rejected.
 *   An index the server did not mention, or a body we cannot read at all, is treated as
 *   retryable: without an idempotency key that may bill a transaction twice, but duplicates
 *   carry their trace and span ids in `context` and stay identifiable, while a lost
 *   transaction cannot be recovered.
 * - 202 is "all queued" whatever its body says.
 * - 404, 405, 410 and redirects say the endpoint is wrong (a configuration error, like a bad
 *   key): `misconfigured`. 413 says the batch is too large: `rejected`, so the batch is split.
 * - The request may have been taken although no answer says so (`maybeDelivered`): a 500
 *   ("may or may not have queued anything"), a 504 (a gateway gave up waiting), our own
 *   timeout, a connection cut after the request was written. A resend may then be a copy.
 */
import { describeSendError } from './describe-error.js';
import type { ItemOutcome, RetryReason, SendOutcome } from '../pipeline/sender.js';

export type { ItemOutcome, RetryReason, SendOutcome } from '../pipeline/sender.js';

export interface HttpResult {
  status: number;
  /** Header lookup, case-insensitive (e.g. from undici's lower-cased headers). */
  header(name: string): string | undefined;
  /** The response body as text (possibly truncated). */
  body: string;
  /** How many transactions the request carried. */
  count: number;
  /** The current time (epoch ms), to turn an HTTP-date `Retry-After` into a delay. */
  nowMs: number;
}

const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);
/** Retryable answers after which the server may still have taken the request. */
const MAYBE_TAKEN_STATUS = new Set([500, 504]);
/** Answers that mean "this URL is not the usage-transactions endpoint". */
const WRONG_ENDPOINT_STATUS = new Set([404, 405, 410]);
/** Largest `Retry-After` returned, ms (what `setTimeout` can wait); callers cap it further. */
const MAX_RETRY_AFTER_MS = 2 ** 31 - 1;
const TRANSIENT_CODES = /rate|throttl|timeout|unavailable|internal|overload|retry|temporar|busy/i;

/**
 * `Retry-After` as milliseconds from now: delay-seconds or an HTTP date. Undefined when absent
 * or unreadable; a date in the past gives 0; a huge value is clamped to 2^31-1 ms (about 24
 * days), so it can never overflow a timer.
 */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (v === '') return undefined;
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(v)) ms = Math.round(Number(v) * 1000);
  else {
    const date = Date.parse(v);
    if (Number.isNaN(date)) return undefined;
    ms = Math.max(0, date - nowMs);
  }
  return Number.isFinite(ms) ? Math.min(ms, MAX_RETRY_AFTER_MS) : MAX_RETRY_AFTER_MS;
}

function errorMessage(body: string, fallback: string): string {
  try {
    const parsed = JSON.parse(body) as unknown;
    if (isObject(parsed)) {
      const err = parsed.error;
      if (isObject(err) && typeof err.message === 'string') return err.message;
      if (typeof err === 'string') return err;
      if (typeof parsed.message === 'string') return parsed.message;
    }
  } catch {
    // not JSON: fall through
  }
  const trimmed = body.trim();
  return trimmed === '' ? fallback : trimmed.slice(0, 200);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Classifies one item of a 207 `results[]`. */
export function classifyItem(entry: Record<string, unknown>): ItemOutcome {
  const err = entry.error ?? entry.errors;
  const failed =
    err !== undefined ||
    entry.status === 'failed' ||
    entry.status === 'error' ||
    entry.success === false ||
    (typeof entry.status === 'number' && entry.status >= 300);
  if (
    !failed &&
    (typeof entry.message_id === 'string' || entry.status === 'queued' || entry.success === true)
  ) {
    return { status: 'accepted' };
  }
  if (!failed) return { status: 'retryable', message: 'result entry without message_id or error' };
  const e = isObject(err) ? err : {};
  const message =
    typeof err === 'string'
      ? err
      : typeof e.message === 'string'
        ? e.message
        : typeof entry.message === 'string'
          ? entry.message
          : 'failed';
  const status =
    typeof e.status === 'number' ? e.status : typeof entry.status === 'number' ? entry.status : undefined;
  const code = typeof e.code === 'string' ? e.code : typeof entry.code === 'string' ? entry.code : '';
  const retryable =
    e.retryable === true ||
    entry.retryable === true ||
    (status !== undefined && RETRYABLE_STATUS.has(status)) ||
    (e.retryable !== false && entry.retryable !== false && TRANSIENT_CODES.test(code));
  return retryable ? { status: 'retryable', message } : { status: 'rejected', message };
}

/** Reads a 207 body; unknown shapes make every transaction retryable (see the module note). */
export function parsePartial(body: string, count: number): ItemOutcome[] {
  const items: ItemOutcome[] = Array.from({ length: count }, () => ({
    status: 'retryable',
    message: 'not reported in the 207 response',
  }));
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return items.map(() => ({ status: 'retryable', message: 'unreadable 207 response' }));
  }
  const results = isObject(parsed) ? parsed.results : undefined;
  if (!Array.isArray(results)) {
    return items.map(() => ({ status: 'retryable', message: '207 response without results' }));
  }
  results.forEach((entry: unknown, position) => {
    if (!isObject(entry)) return;
    const raw = entry.transaction_index ?? entry.index;
    const index = typeof raw === 'number' ? raw : results.length === count ? position : -1;
    if (!Number.isInteger(index) || index < 0 || index >= count) return;
    items[index] = classifyItem(entry);
  });
  return items;
}

/** Classifies an HTTP response. */
export function classifyResponse(r: HttpResult): SendOutcome {
  const { status } = r;
  if (status === 207) {
    const retryAfterMs = parseRetryAfter(r.header('retry-after'), r.nowMs);
    const items = parsePartial(r.body, r.count);
    return retryAfterMs === undefined
      ? { kind: 'partial', status, items }
      : { kind: 'partial', status, items, retryAfterMs };
  }
  if (status >= 200 && status < 300) return { kind: 'accepted', status };
  if (status === 401 || status === 403) {
    return { kind: 'unauthorized', status, message: errorMessage(r.body, 'unauthorized') };
  }
  if (RETRYABLE_STATUS.has(status)) {
    const retryAfterMs = parseRetryAfter(r.header('retry-after'), r.nowMs);
    const reason: RetryReason = status === 429 ? 'throttled' : status === 408 ? 'timeout' : 'server_error';
    const message = `HTTP ${status}: ${errorMessage(r.body, 'no body')}`;
    const maybe = MAYBE_TAKEN_STATUS.has(status) ? { maybeDelivered: true } : {};
    const cause = `HTTP ${status}`;
    return retryAfterMs === undefined
      ? { kind: 'retryable', status, reason, message, cause, ...maybe }
      : { kind: 'retryable', status, reason, message, retryAfterMs, cause, ...maybe };
  }
  if (status === 400 || status === 422) {
    return { kind: 'rejected', status, message: errorMessage(r.body, 'validation error') };
  }
  if (status === 413) {
    return { kind: 'rejected', status, message: `HTTP 413: ${errorMessage(r.body, 'request too large')}` };
  }
  if (WRONG_ENDPOINT_STATUS.has(status) || (status >= 300 && status < 400)) {
    const location = r.header('location');
    const where = location === undefined ? '' : ` (redirects to ${location.slice(0, 200)})`;
    return {
      kind: 'misconfigured',
      status,
      message: `HTTP ${status}: ${errorMessage(r.body, 'no body')}${where}`,
    };
  }
  return { kind: 'failed', status, message: `HTTP ${status}: ${errorMessage(r.body, 'no body')}` };
}

/** Errors meaning the connection was never made: the server cannot have taken the request. */
const NOT_CONNECTED_CODES = new Set([
  'ECONNREFUSED',
  'ENETUNREACH',
  'ENETDOWN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'EAI_AGAIN',
  'ENOTFOUND',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** undici / Node error codes worth another attempt: those, and a connection lost or timed out. */
const RETRYABLE_ERROR_CODES = new Set([
  ...NOT_CONNECTED_CODES,
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

const TIMEOUT_CODES = new Set([
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

function codeOf(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 4 && isObject(e); depth++) {
    if (typeof e.code === 'string') return e.code;
    e = e.cause;
  }
  return undefined;
}

/**
 * Classifies an error thrown while sending. `timedOut` says our own per-request timer fired
 * (after `timeoutMs`); `aborted` that we cancelled the request (shutdown). The message says
 * what happened in words ({@link describeSendError}): DNS, refused, reset, timeout, TLS.
 */
export function classifyError(
  err: unknown,
  how: { timedOut: boolean; aborted: boolean; timeoutMs?: number },
): SendOutcome {
  const name = err instanceof Error ? err.name : '';
  const code = codeOf(err);
  const maybeDelivered = code === undefined || !NOT_CONNECTED_CODES.has(code);
  if (how.timedOut || name === 'TimeoutError') {
    const d = describeSendError(err, how.timedOut ? (how.timeoutMs ?? 0) : undefined);
    return { kind: 'retryable', reason: 'timeout', message: d.text, cause: d.cause, maybeDelivered: true };
  }
  if (how.aborted) return { kind: 'aborted', message: 'request aborted' };
  if (code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE') return { kind: 'failed', message: 'response too large' };
  const d = describeSendError(err);
  // A known transient code, or an unknown transport error (most are connection trouble): try
  // again within the deadline.
  const timeout = code !== undefined && RETRYABLE_ERROR_CODES.has(code) && TIMEOUT_CODES.has(code);
  return {
    kind: 'retryable',
    reason: timeout ? 'timeout' : 'network',
    message: d.text,
    cause: d.cause,
    maybeDelivered,
  };
}
