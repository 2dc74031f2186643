import type { PricedTransaction } from '../stage/priced-transaction.js';

/**
 * The seam between the delivery pipeline and a destination. The pipeline defines what it needs
 * from a transport and the outcomes it acts on; `src/fenra` implements it over HTTP (the client
 * renders the wire body and classifies the answer), `src/local` over the local sink. Nothing in
 * the pipeline knows a wire format.
 */

/** What happened to one transaction of a partial answer (207). */
export type ItemOutcome =
  { status: 'accepted' } | { status: 'retryable'; message: string } | { status: 'rejected'; message: string };

export type RetryReason = 'throttled' | 'server_error' | 'timeout' | 'network';

export type SendOutcome =
  /** Every transaction was taken (2xx). */
  | { kind: 'accepted'; status: number }
  /** One outcome per transaction, in request order (207). */
  | { kind: 'partial'; status: number; items: ItemOutcome[]; retryAfterMs?: number }
  /** A rule (or the size limit) refused the batch as it is; not retryable unchanged (400/413/422). */
  | { kind: 'rejected'; status: number; message: string }
  /** The key is missing, invalid or revoked (401/403). */
  | { kind: 'unauthorized'; status: number; message: string }
  /** The destination is not the usage-transactions endpoint (404/405/410/3xx). */
  | { kind: 'misconfigured'; status: number; message: string }
  /**
   * Try again later (408/429/5xx, network errors, timeouts). `maybeDelivered`: the request
   * reached the server and its answer was lost (a timeout, a reset after sending, a 500): the
   * server may have taken it, so a resend may be a second copy. `cause`: a short key for "the
   * same problem again" (an error code, `timeout`, `HTTP 503`), so that it is said once.
   */
  | {
      kind: 'retryable';
      status?: number;
      reason: RetryReason;
      message: string;
      retryAfterMs?: number;
      maybeDelivered?: boolean;
      cause?: string;
    }
  /** Any other refusal: retrying will not help. */
  | { kind: 'failed'; status?: number; message: string }
  /** We aborted the request ourselves (shutdown). */
  | { kind: 'aborted'; message: string };

export interface SendResult {
  outcome: SendOutcome;
  /** Request body size, bytes (0 when nothing was written). */
  bytes: number;
}

export interface SendOptions {
  /** Bound of this one request, ms. */
  timeoutMs: number;
  /** Aborted at shutdown. */
  signal?: AbortSignal;
}

/** A destination for batches of transactions. */
export interface TransactionSender {
  /** Sends one batch; resolves for every outcome, never rejects. */
  send(items: readonly PricedTransaction[], options: SendOptions): Promise<SendResult>;
  /** Releases what the sender holds (connections, files); later sends answer `aborted`. */
  close(): Promise<void>;
}

/**
 * What became of one batch sent through the pipeline's senders (retrying, bisecting): each
 * transaction is in exactly one of `accepted`, `refused` or `kept`.
 */
export interface BatchResult {
  accepted: PricedTransaction[];
  /** Refused for good, in groups sharing a reason. */
  refused: { items: PricedTransaction[]; reason: 'rejected' | 'http_error'; message: string }[];
  /** Not delivered: they go back to the queue (or are dropped when shutting down). */
  kept: PricedTransaction[];
  /**
   * Refused as a whole (400/413) and not split yet: which items the rule refuses is unknown.
   * Only the retrying sender answers this; the bisecting sender resolves it.
   */
  refusedWhole?: { items: PricedTransaction[]; message: string };
  /** Why sending should stop for a while (with `kept` non-empty). */
  hold?: Hold;
}

export type Hold =
  /** The retry budget ran out: wait this long before taking from the queue again. */
  | { kind: 'backoff'; ms: number; why: string }
  /** A configuration error, or a destination refusing everything: pause and probe. */
  | {
      kind: 'blocked';
      state: 'unauthorized' | 'endpoint_rejected' | 'rejecting_all';
      status: number;
      message: string;
    }
  /** We are shutting down. */
  | { kind: 'aborted' };

/** One batch through a sender chain, within `deadline` (epoch ms). Never rejects. */
export interface BatchSender {
  deliver(items: PricedTransaction[], deadline: number): Promise<BatchResult>;
}

export function emptyResult(): BatchResult {
  return { accepted: [], refused: [], kept: [] };
}
