import { diag } from '@opentelemetry/api';
import type { FenraWarningCode } from '../internal/process-warning.js';
import type { SettingNames } from '../internal/conditions.js';
import { CONDITIONS } from '../internal/conditions.js';
import type { DropReason, FailReason } from './stats.js';

const log = diag.createComponentLogger({ namespace: '@fenra/otel/delivery' });

/**
 * What the user hears about delivery, each thing once: the first batch accepted (billing
 * works), a problem the first time it happens (with its cause and the transactions at risk),
 * the return to normal, and at the end what was lost and why. The pipeline tells it what
 * happens; the wording is {@link CONDITIONS}'.
 */
export interface DeliveryNoticesOptions {
  /** Where transactions go, e.g. `Fenra (https://ingest.fenra.io/usage/transactions)`. */
  destination: string;
  /** Where undelivered transactions wait, e.g. `kept in memory (up to 2048)`. */
  kept: string;
  /** Also as a Node process warning (the in-process modes). */
  warn?: (code: FenraWarningCode, text: string, cause: string) => void;
  /** How the running mode names the settings the messages point at. */
  names: Pick<SettingNames, 'maxQueueSize'>;
}

/** The counts a loss summary is made of. */
export interface LossFacts {
  dropped: Readonly<Record<DropReason, number>>;
  failed: Readonly<Record<FailReason, number>>;
  /** Still queued or in flight when the process ends (lost unless a spool keeps them). */
  undelivered: number;
}

/** Causes worth saying at the first failure: they seldom go away within a retry. */
const LASTING =
  /^(ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ENETUNREACH|ENETDOWN|EHOSTUNREACH|EHOSTDOWN|ERR_SSL_|ERR_TLS_|CERT_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_|HOSTNAME_MISMATCH|EPROTO)/;

export class DeliveryNotices {
  private readonly _o: DeliveryNoticesOptions;
  private readonly _names: Pick<SettingNames, 'maxQueueSize'>;
  private _accepted = 0;
  private _problem: { cause: string; text: string } | undefined;
  private _lastProblem: string | undefined;
  private _lastRejection: string | undefined;
  private _lastLossReport = '';

  constructor(o: DeliveryNoticesOptions) {
    this._o = o;
    this._names = o.names;
  }

  /** The problem delivery has right now (cause and words), until a batch is accepted again. */
  get problem(): string | undefined {
    return this._problem?.text;
  }

  /** The last reason delivery failed or Fenra refused something, in words; undefined when none. */
  get cause(): string | undefined {
    return this._lastProblem ?? this._lastRejection;
  }

  /**
   * A request for `atRisk` transactions failed in a way worth retrying (`attempt` 0 is the
   * first try of that batch). Said once per cause: at once when the cause rarely heals by itself
   * (DNS, a refused connection, TLS), else when a retry fails too (a lone 503 is not news).
   */
  attemptFailed(cause: string, why: string, atRisk: number, attempt: number): void {
    this._lastProblem = why;
    if (this._problem?.cause === cause) return;
    if (attempt === 0 && !LASTING.test(cause)) return;
    this._problem = { cause, text: why };
    const text = CONDITIONS.deliveryFailing(this._o.destination, why, atRisk, this._o.kept);
    log.warn(text);
    this._o.warn?.('FENRA_DELIVERY_FAILING', `@fenra/otel: ${text}`, `delivery:${cause}`);
  }

  /** Fenra refused transactions for good (400, a refused 207 item): kept for the loss summary. */
  refused(reason: string): void {
    this._lastRejection = reason;
  }

  /** A batch of `count` was accepted. */
  accepted(count: number): void {
    if (count === 0) return;
    const first = this._accepted === 0;
    this._accepted += count;
    if (first) log.info(CONDITIONS.firstAccepted(this._o.destination, count));
    if (this._problem !== undefined) {
      this._problem = undefined;
      log.info(CONDITIONS.deliveryRecovered(this._o.destination, count));
    }
  }

  /** What was lost and why, in one sentence; undefined when nothing was. */
  describeLosses(f: LossFacts): string | undefined {
    const parts: string[] = [];
    const why = this._lastProblem ?? this._problem?.text;
    if (f.undelivered > 0)
      parts.push(`${f.undelivered} still undelivered at exit${why === undefined ? '' : ` (${why})`}`);
    const d = f.dropped;
    if (d.shutdown > 0)
      parts.push(`${d.shutdown} left in the queue at shutdown${why === undefined ? '' : ` (${why})`}`);
    if (d.retries_exhausted > 0)
      parts.push(
        `${d.retries_exhausted} whose retries ran out at shutdown${why === undefined ? '' : ` (${why})`}`,
      );
    if (d.queue_full > 0)
      parts.push(`${d.queue_full} dropped because the queue was full (${this._names.maxQueueSize})`);
    const refused = f.failed.rejected + f.failed.http_error;
    if (refused > 0)
      parts.push(
        `${refused} refused by Fenra${this._lastRejection === undefined ? '' : ` (${this._lastRejection})`}`,
      );
    if (parts.length === 0) return undefined;
    // Dropped for want of a key or when disabled is not counted here: that was said at start.
    const total = f.undelivered + d.shutdown + d.retries_exhausted + d.queue_full + refused;
    return `${total} transaction(s) were not delivered to ${this._o.destination}: ${parts.join('; ')}.`;
  }

  /** Logs (and warns about) the losses once per distinct summary; returns the summary. */
  reportLosses(f: LossFacts): string | undefined {
    const text = this.describeLosses(f);
    if (text === undefined || text === this._lastLossReport) return text;
    this._lastLossReport = text;
    log.warn(text);
    this._o.warn?.('FENRA_TRANSACTIONS_LOST', `@fenra/otel: ${text}`, `lost:${text}`);
    return text;
  }
}
