/**
 * `running`: sending. Paused with the queue kept and one request probing now and then:
 * `unauthorized` (the key was refused: 401/403), `endpoint_rejected` (not the usage-transactions
 * URL: 404/405/410, a redirect), `rejecting_all` (every half of a refused batch was refused
 * too: the fault is the destination's, not the transactions'). `disabled`: nothing is sent
 * (disabled, or no key). `shut_down`: closed.
 */
export type PipelineState =
  'running' | 'unauthorized' | 'endpoint_rejected' | 'rejecting_all' | 'disabled' | 'shut_down';

/** The states in which sending is paused and probed. */
export type BlockedState = 'unauthorized' | 'endpoint_rejected' | 'rejecting_all';

/** Refused by the destination for good. */
export type FailReason = 'rejected' | 'http_error';
/** Never delivered. */
export type DropReason = 'queue_full' | 'shutdown' | 'retries_exhausted' | 'disabled' | 'no_api_key';

export const FAIL_REASONS: readonly FailReason[] = ['rejected', 'http_error'];
export const DROP_REASONS: readonly DropReason[] = [
  'queue_full',
  'shutdown',
  'retries_exhausted',
  'disabled',
  'no_api_key',
];

/** A snapshot of the pipeline's counters (all counts are transactions unless named otherwise). */
export interface PipelineStats {
  state: PipelineState;
  /** Taken into the queue. */
  enqueued: number;
  /** Put on the wire, resends included. */
  sent: number;
  /** Taken by the destination (2xx, or accepted inside a 207). */
  accepted: number;
  /**
   * Of `accepted`: transactions accepted after an attempt whose answer was lost (a timeout, a
   * reset, a 500; or sent before a crash, found again in the spool). The destination may hold
   * a second copy; their trace and span ids in the context identify it.
   */
  possibleDuplicates: number;
  failed: Record<FailReason, number>;
  dropped: Record<DropReason, number>;
  /** Retry attempts (requests that resend after a retryable outcome). */
  retries: number;
  /** Batches put back in the queue after their retry budget ran out. */
  requeued: number;
  /** Requests made. */
  requests: number;
  /** Request body bytes sent. */
  bytes: number;
  /** Transactions in requests right now. */
  inFlight: number;
  queueDepth: number;
  /** Sum of the local price estimate of accepted transactions, USD. */
  estimatedUsd: number;
  /** Accepted transactions without a local price. */
  unpriced: number;
}

export function emptyStats(state: PipelineState): PipelineStats {
  return {
    state,
    enqueued: 0,
    sent: 0,
    accepted: 0,
    possibleDuplicates: 0,
    failed: { rejected: 0, http_error: 0 },
    dropped: { queue_full: 0, shutdown: 0, retries_exhausted: 0, disabled: 0, no_api_key: 0 },
    retries: 0,
    requeued: 0,
    requests: 0,
    bytes: 0,
    inFlight: 0,
    queueDepth: 0,
    estimatedUsd: 0,
    unpriced: 0,
  };
}

/** Transactions settled so far: accepted, failed or dropped (each exactly once). */
export function settledCount(s: PipelineStats): number {
  let n = s.accepted;
  for (const r of FAIL_REASONS) n += s.failed[r];
  for (const r of DROP_REASONS) n += s.dropped[r];
  return n;
}
