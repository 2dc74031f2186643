import type { MeterProvider } from '@opentelemetry/api';

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
