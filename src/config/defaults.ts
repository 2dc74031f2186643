import { SETTINGS } from './settings.js';

/** The library's defaults (durations in ms), read from the setting tables. */
export const DEFAULTS = {
  endpoint: SETTINGS.endpoint.default,
  maxExportBatchSize: SETTINGS.maxExportBatchSize.default,
  scheduledDelayMillis: SETTINGS.scheduledDelayMillis.default,
  maxQueueSize: SETTINGS.maxQueueSize.default,
  traceWaitMillis: SETTINGS.traceWaitMillis.default,
  exportTimeoutMillis: SETTINGS.exportTimeoutMillis.default,
  requestTimeoutMillis: SETTINGS.requestTimeoutMillis.default,
  concurrencyLimit: SETTINGS.concurrencyLimit.default,
} as const;
