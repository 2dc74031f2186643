import type { MeterProvider } from '@opentelemetry/api';
import type * as z from 'zod';
import { loadZod } from '../internal/zod.js';
import type { PriceOverride } from '../pricing/types.js';
import { isHttpUrl } from './values.js';

/**
 * The options accepted in code by `FenraSpanProcessor` and `FenraSpanExporter`: a strict
 * schema (a misspelt option is an error). Names, variables and defaults are those of the
 * setting tables (`settings-*.ts`; a test holds these comments to them). Precedence: code,
 * then environment, then the defaults.
 */

/** Thrown once, at construction, when options given in code are invalid. */
export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
}

/**
 * The schemas, built at first use rather than when the module loads: building zod schemas
 * costs start-up time (the register entry loads this code and, handing its configuration
 * over already resolved, never parses options).
 */
function build() {
  const z = loadZod();
  const positiveInt = z.number().int().positive();
  const text = z.string().trim().min(1);
  const keyList = z.array(z.string().min(1));

  const PriceOverrideSchema = z.strictObject({
    provider: z.string().min(1),
    model: z.string().min(1),
    inputPerMTok: z.number().finite().nonnegative().optional(),
    outputPerMTok: z.number().finite().nonnegative().optional(),
    cacheReadPerMTok: z.number().finite().nonnegative().optional(),
    cacheWritePerMTok: z.number().finite().nonnegative().optional(),
  }) satisfies z.ZodType<PriceOverride>;

  const MeterProviderSchema = z.custom<MeterProvider>(
    (v) =>
      typeof v === 'object' && v !== null && typeof (v as { getMeter?: unknown }).getMeter === 'function',
    { message: 'expected an OpenTelemetry MeterProvider (an object with getMeter())' },
  );

  const FenraOptionsSchema = z.strictObject({
    /** Fenra API key, sent as `X-Api-Key`. Env `FENRA_API_KEY`. No default: without it nothing is sent. */
    apiKey: text.optional(),
    /** Full URL of the usage-transactions endpoint; a malformed one throws a `ConfigurationError`. Env `FENRA_ENDPOINT` (malformed: nothing is sent). Default `https://ingest.fenra.io/usage/transactions`. */
    endpoint: z.string().refine(isHttpUrl, { message: 'expected an http(s) URL' }).optional(),
    /** Customer billed when no customer id is found on the span, its ancestors, baggage or resource. Env `FENRA_BILLABLE_CUSTOMER_ID`. Default none: such calls are billed to `unattributed` and counted. */
    billableCustomerId: text.optional(),
    /** Turns the exporter into a no-op. Env `FENRA_DISABLED` (and `OTEL_SDK_DISABLED`): `true` or `false`. Default `false`. */
    disabled: z.boolean().optional(),
    /** Most transactions in one request. Env `FENRA_MAX_EXPORT_BATCH_SIZE`. Default 100. */
    maxExportBatchSize: positiveInt.optional(),
    /** Longest a queued transaction waits before a (partial) batch is sent, in ms. Env `FENRA_SCHEDULED_DELAY_MILLIS`. Default 5000. */
    scheduledDelayMillis: positiveInt.optional(),
    /** Most transactions held in memory; beyond it new ones are dropped and counted. Env `FENRA_MAX_QUEUE_SIZE`. Default 2048. */
    maxQueueSize: positiveInt.optional(),
    /** Time budget for one batch, all retries included, in ms; also bounds `forceFlush`. Env `FENRA_EXPORT_TIMEOUT_MILLIS`. Default 30000. */
    exportTimeoutMillis: positiveInt.optional(),
    /** Time budget for one HTTP request, in ms (never more than what is left of `exportTimeoutMillis`). Env `FENRA_REQUEST_TIMEOUT_MILLIS`. Default 10000. */
    requestTimeoutMillis: positiveInt.optional(),
    /** Most requests in flight at once. No env var. Default 2. */
    concurrencyLimit: positiveInt.max(64).optional(),
    /** Attribute / baggage keys that carry the billable customer id, tried in order. Env `FENRA_CUSTOMER_ID_KEYS` (comma list). Default: the converter's built-in list. */
    customerIdKeys: keyList.optional(),
    /** Allow-list of attribute / baggage keys copied into the transaction context. Env `FENRA_CONTEXT_KEYS` (comma list). Default: the converter's built-in list. */
    contextKeys: keyList.optional(),
    /** Azure OpenAI deployment name → model id, for spans that only name the deployment. No env var. Default none. */
    azureDeployments: z.record(z.string().min(1), z.string().min(1)).optional(),
    /** Largest token count one call may state (any of its counts); a call stating more, or a count that is not a whole number 0 ≤ n < 2^53, is not billed (`invalid_usage`, counted). Env `FENRA_MAX_TOKENS_PER_CALL`. Default 100000000. */
    maxTokensPerCall: positiveInt.max(Number.MAX_SAFE_INTEGER).optional(),
    /** Local price overrides (USD per million tokens), checked before the catalog. No env var. Default none. */
    priceOverrides: z.array(PriceOverrideSchema).optional(),
    /** Where to record the exporter's own metrics. No env var. Default: the global MeterProvider (`metrics.getMeterProvider()`, also when registered after construction); without one, metrics are no-ops. */
    meterProvider: MeterProviderSchema.optional(),
  });

  // Options of `FenraSpanExporter`: the processor's and its own.
  const ExporterOptionsSchema = FenraOptionsSchema.extend({
    /**
     * How long a GenAI span waits for its trace's local root span (which carries the customer id
     * and ends last) before it is converted with what has arrived, ms. Env `FENRA_TRACE_WAIT_MILLIS`.
     * Default 10000. 0 converts at once.
     */
    traceWaitMillis: z.number().int().nonnegative().optional(),
  });
  return { processor: FenraOptionsSchema, exporter: ExporterOptionsSchema };
}

type Schemas = ReturnType<typeof build>;
let built: Schemas | undefined;

/** The strict schemas of the options of `FenraSpanProcessor` (`processor`) and `FenraSpanExporter` (`exporter`). */
export function optionsSchemas(): Schemas {
  return (built ??= build());
}

/** Options accepted in code. See the `FenraOptionsSchema` in {@link optionsSchemas} for each field. */
export type FenraOptions = z.input<Schemas['processor']>;

/** Throws a {@link ConfigurationError} listing every problem (typos included) of `options`. */
export function parseOptions(options: unknown, exporter: boolean): z.output<Schemas['exporter']> {
  // No options (the common case): nothing to check, and the schemas stay unbuilt.
  if (options === undefined || isEmptyPlainObject(options)) return {};
  const schema = exporter ? optionsSchemas().exporter : optionsSchemas().processor;
  const parsed = schema.safeParse(options ?? {});
  if (!parsed.success) {
    throw new ConfigurationError(`Invalid @fenra/otel options:\n${loadZod().prettifyError(parsed.error)}`);
  }
  return parsed.data;
}

function isEmptyPlainObject(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return (proto === Object.prototype || proto === null) && Reflect.ownKeys(v).length === 0;
}
