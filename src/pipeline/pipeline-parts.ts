import { diag } from '@opentelemetry/api';
import { CONDITIONS } from '../internal/conditions.js';
import { displayUrl } from '../internal/display-url.js';
import { firstInProcess, warnProcessOnce } from '../internal/process-warning.js';
import { errorText } from '../internal/safe.js';
import type { Sleep } from '../internal/sleep.js';
import type { PricedTransaction } from '../stage/priced-transaction.js';
import { BisectingSender } from './bisecting-sender.js';
import type { DeliveryConfig } from './delivery-config.js';
import type { DeliveryNotices } from './delivery-notices.js';
import type { RetryPolicy } from './retry-policy.js';
import { RetryingSender } from './retrying-sender.js';
import type { BatchSender, TransactionSender } from './sender.js';
import type { SettlementLedger } from './settlement-ledger.js';
import type { DropReason, PipelineStats } from './stats.js';

/**
 * The parts the delivery pipeline is put together from, decided once at its construction:
 * how its messages name the destination, why it sends nothing (no sender), and the sender
 * chain (bisecting over retrying over the destination's sender).
 */

const log = diag.createComponentLogger({ namespace: '@fenra/otel/delivery' });

/** The destination as the delivery messages name it: Fenra with its URL (no credentials), or the local sink. */
export function destinationText(destination: string): string {
  if (/^https?:\/\//.test(destination)) return `Fenra (${displayUrl(destination)})`;
  return destination.startsWith('local sink') ? `the ${destination}` : `the local sink (${destination})`;
}

/**
 * Why a pipeline without a sender sends nothing: disabled, or no key (said once per process,
 * however many processors or exporters were made).
 */
export function whyNotSending(options: DeliveryConfig, processWarnings: boolean): DropReason {
  if (options.disabled || options.apiKey !== undefined) {
    log.debug(`export disabled by ${options.disabledBy ?? 'option'}`);
    return 'disabled';
  }
  const message = CONDITIONS.noApiKey(options.settingNames);
  if (firstInProcess('diag:no_api_key')) log.warn(message);
  if (processWarnings) warnProcessOnce('FENRA_NO_API_KEY', message);
  return 'no_api_key';
}

export interface SenderChainOptions {
  now: () => number;
  sleep: Sleep;
  random: () => number;
  policy: RetryPolicy;
  requestTimeoutMillis: number;
  signal: AbortSignal;
  stats: PipelineStats;
  ledger: SettlementLedger;
  notices: DeliveryNotices;
  /** Called before each request with what it carries; a hook that throws is logged, never thrown. */
  sendingHooks: readonly ((items: readonly PricedTransaction[]) => void)[];
}

/** Bisecting over retrying over the destination's sender. */
export function senderChain(sender: TransactionSender, o: SenderChainOptions): BatchSender {
  const retrying = new RetryingSender(sender, {
    now: o.now,
    sleep: o.sleep,
    random: o.random,
    policy: o.policy,
    requestTimeoutMillis: o.requestTimeoutMillis,
    signal: o.signal,
    stats: o.stats,
    maybeSent: (items) => o.ledger.markMaybeSent(items),
    failed: (outcome, atRisk, attempt) =>
      o.notices.attemptFailed(outcome.cause ?? outcome.reason, outcome.message, atRisk, attempt),
    sending: (items) => {
      for (const hook of o.sendingHooks) {
        try {
          hook(items);
        } catch (e) {
          log.error(`onSending callback threw: ${errorText(e)}`);
        }
      }
    },
  });
  return new BisectingSender(retrying);
}
