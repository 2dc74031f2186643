import type { MeterProvider } from '@opentelemetry/api';
import type { Mode } from '../internal/conditions.js';
import type { Sleep } from '../internal/sleep.js';
import type { KeepAlive } from '../internal/timers.js';
import type { RetryPolicy } from './retry-policy.js';
import type { TransactionSender } from './sender.js';
import type { SettledHook } from './settlement-ledger.js';

/**
 * What the delivery pipeline needs to run: already resolved and checked by the entry point
 * (the library's, the sidecar's or `convert --send`'s configuration satisfies it or is mapped
 * to it). The pipeline reads no environment and validates nothing.
 */
export interface DeliveryConfig {
  endpoint: string;
  /** Without one (and not disabled) nothing is sent: every transaction is dropped as `no_api_key`. */
  apiKey: string | undefined;
  disabled: boolean;
  /** Why it is disabled, for the debug line. */
  disabledBy?: string | undefined;
  maxExportBatchSize: number;
  scheduledDelayMillis: number;
  maxQueueSize: number;
  /** Time budget of one batch, all retries included, ms. */
  exportTimeoutMillis: number;
  /** One HTTP request, ms (never more than what is left of the batch's budget). */
  requestTimeoutMillis: number;
  concurrencyLimit: number;
  /** Where the pipeline's own metrics go; undefined: the global MeterProvider. */
  meterProvider?: MeterProvider | undefined;
  /** How the running mode names the settings the pipeline's messages point at. */
  settingNames: DeliverySettingNames;
}

/**
 * The names of the settings a delivery message may tell the user to fix, as the running mode
 * spells them (e.g. `FENRA_API_KEY (or the apiKey option)` in code, `--api-key-file or
 * FENRA_API_KEY` for `serve`).
 */
export interface DeliverySettingNames {
  apiKey: string;
  endpoint: string;
  maxQueueSize: string;
  exportTimeoutMillis: string;
}

export interface DeliveryPipelineDeps {
  /**
   * The destination: Fenra's client (`fenraSender(config)`), or the local sink's sender. Without
   * one nothing is sent: every transaction is dropped and counted, as `disabled` or (no key,
   * said once per process) `no_api_key`.
   */
  sender?: TransactionSender;
  /** Where the sender delivers, for messages (default `config.endpoint`). */
  endpoint?: string;
  /** Clock, epoch ms. */
  now?: () => number;
  /** Backoff and probe waits; must resolve early when the signal aborts. Default: `keepAlive`'s timers. */
  sleep?: Sleep;
  /** Timers kept alive only while a flush, shutdown or export wait is awaited (shared with the owner). */
  keepAlive?: KeepAlive;
  /** Also emit the one-time health messages (key or endpoint refused, queue full) as process warnings. */
  processWarnings?: boolean;
  random?: () => number;
  retryPolicy?: RetryPolicy;
  /** Wait between probes while the key or the endpoint is refused, ms. Default 60000. */
  unauthorizedProbeMillis?: number;
  /** First wait before probing a destination that refused everything, ms. Default 5000. */
  rejectingProbeMillis?: number;
  /** Bound of `forceFlush()` and of the flush inside `shutdown()`, ms. Default `exportTimeoutMillis` + 1000. */
  flushTimeoutMillis?: number;
  /** Called once per settled group; errors are caught and logged. */
  onSettled?: SettledHook;
  /** Who runs the pipeline, for where its messages say undelivered transactions wait (default `library`). */
  mode?: Mode;
  /** Where undelivered transactions wait, for the messages (default: in memory, up to `maxQueueSize`). */
  kept?: string;
}
