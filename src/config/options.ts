import type { MeterProvider } from '@opentelemetry/api';
import { z } from 'zod';
import type { PriceOverride } from '../pricing/types.js';
import { isHttpUrl } from './env.js';

/** The defaults, in one place. Durations are milliseconds. */
export const DEFAULTS = {
  endpoint: 'https://ingest.fenra.io/usage/transactions',
  maxExportBatchSize: 100,
  scheduledDelayMillis: 5_000,
  maxQueueSize: 2_048,
  traceWaitMillis: 10_000,
  exportTimeoutMillis: 30_000,
  requestTimeoutMillis: 10_000,
  concurrencyLimit: 2,
} as const;

const positiveInt = z.number().int().positive();

const PriceOverrideSchema = z.strictObject({
  provider: z.string().min(1),
  model: z.string().min(1),
  inputPerMTok: z.number().finite().nonnegative().optional(),
  outputPerMTok: z.number().finite().nonnegative().optional(),
  cacheReadPerMTok: z.number().finite().nonnegative().optional(),
  cacheWritePerMTok: z.number().finite().nonnegative().optional(),
}) satisfies z.ZodType<PriceOverride>;

const MeterProviderSchema = z.custom<MeterProvider>(
  (v) => typeof v === 'object' && v !== null && typeof (v as { getMeter?: unknown }).getMeter === 'function',
  { message: 'expected an OpenTelemetry MeterProvider (an object with getMeter())' },
);

/**
 * The options accepted in code. Every field is optional; each also has an environment
 * variable where noted. Precedence: code, then environment, then {@link DEFAULTS}.
 */
export const FenraOptionsSchema = z.strictObject({
  /** Fenra API key, sent as `X-Api-Key`. Env `FENRA_API_KEY`. No default: without it nothing is sent. */
  apiKey: z.string().trim().min(1).optional(),
  /** Full URL of the usage-transactions endpoint. Env `FENRA_ENDPOINT`. Default `https://ingest.fenra.io/usage/transactions`. */
  endpoint: z.string().refine(isHttpUrl, { message: 'expected an http(s) URL' }).optional(),
  /** Customer billed when no customer id is found on the span, its ancestors, baggage or resource. Env `FENRA_BILLABLE_CUSTOMER_ID`. Default none: such calls are billed to `unattributed` and counted. */
  billableCustomerId: z.string().trim().min(1).optional(),
  /** Turns the exporter into a no-op. Env `FENRA_DISABLED` (and `OTEL_SDK_DISABLED`). Default `false`. */
  disabled: z.boolean().optional(),
  /** Most transactions in one request. Env `FENRA_MAX_EXPORT_BATCH_SIZE`. Default 100. */
  maxExportBatchSize: positiveInt.optional(),
  /** Longest a queued transaction waits before a (partial) batch is sent, in ms. Env `FENRA_SCHEDULED_DELAY_MILLIS`. Default 5000. */
  scheduledDelayMillis: positiveInt.optional(),
  /** Most transactions held in memory; beyond it new ones are dropped and counted. Env `FENRA_MAX_QUEUE_SIZE`. Default 2048. */
  maxQueueSize: positiveInt.optional(),
  /** Time budget for one batch, all retries included, in ms; also bounds `forceFlush`. Env `FENRA_EXPORT_TIMEOUT_MILLIS`. Default 30000. */
  exportTimeoutMillis: positiveInt.optional(),
  /** Time budget for one HTTP request, in ms (never more than what is left of `exportTimeoutMillis`). No env var. Default 10000. */
  requestTimeoutMillis: positiveInt.optional(),
  /** Most requests in flight at once. No env var. Default 2. */
  concurrencyLimit: positiveInt.max(64).optional(),
  /** Attribute / baggage keys that carry the billable customer id, tried in order. Env `FENRA_CUSTOMER_ID_KEYS` (comma list). Default: the converter's built-in list. */
  customerIdKeys: z.array(z.string().min(1)).optional(),
  /** Allow-list of attribute / baggage keys copied into the transaction context. No env var. Default: the converter's built-in list. */
  contextKeys: z.array(z.string().min(1)).optional(),
  /** Azure OpenAI deployment name → model id, for spans that only name the deployment. No env var. Default none. */
  azureDeployments: z.record(z.string().min(1), z.string().min(1)).optional(),
  /** Local price overrides (USD per million tokens), checked before the catalog. No env var. Default none. */
  priceOverrides: z.array(PriceOverrideSchema).optional(),
  /** Where to record the exporter's own metrics. No env var. Default: the global MeterProvider (`metrics.getMeterProvider()`, also when registered after construction); without one, metrics are no-ops. */
  meterProvider: MeterProviderSchema.optional(),
});

/** Options of `FenraSpanExporter` beyond {@link FenraOptionsSchema}. */
export const ExporterOptionsSchema = z.strictObject({
  /**
   * How long a GenAI span waits for its trace's local root span (which carries the customer id
   * and ends last) before it is converted with what has arrived, ms. No env var. Default 10000.
   * 0 converts at once.
   */
  traceWaitMillis: z.number().int().nonnegative().optional(),
});

/** Options accepted in code. See {@link FenraOptionsSchema} for each field. */
export type FenraOptions = z.input<typeof FenraOptionsSchema>;

/** Why the exporter is disabled. */
export type DisabledBy = 'option' | 'FENRA_DISABLED' | 'OTEL_SDK_DISABLED';

/** Options after merging code, environment and defaults. */
export interface ResolvedConfig {
  apiKey: string | undefined;
  endpoint: string;
  billableCustomerId: string | undefined;
  disabled: boolean;
  disabledBy: DisabledBy | undefined;
  maxExportBatchSize: number;
  scheduledDelayMillis: number;
  maxQueueSize: number;
  exportTimeoutMillis: number;
  requestTimeoutMillis: number;
  concurrencyLimit: number;
  customerIdKeys: string[] | undefined;
  contextKeys: string[] | undefined;
  azureDeployments: Record<string, string> | undefined;
  priceOverrides: PriceOverride[] | undefined;
  meterProvider: MeterProvider | undefined;
}
