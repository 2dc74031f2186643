/**
 * @fenra/otel — priced, per-customer AI usage for Fenra from the LLM calls your application
 * already traces with OpenTelemetry.
 */
export { FenraSpanProcessor } from './otel/span-processor.js';
export type { FenraStats } from './otel/span-processor.js';
export { FenraSpanExporter } from './otel/span-exporter.js';
export type { FenraSpanExporterOptions } from './otel/span-exporter.js';
export type { FenraOptions } from './config/options.js';
export { ConfigurationError } from './config/resolve.js';
export type { FenraWarningCode } from './internal/process-warning.js';

export { toTransactions } from './genai/to-transactions.js';
export type { ConversionOptions, ConversionResult } from './genai/to-transactions.js';
export { DEFAULT_CUSTOMER_ID_KEYS, UNATTRIBUTED } from './genai/context.js';
export type { PricedTransaction } from './genai/priced-transaction.js';
export type { FenraProvider, SkipReason, SkippedSpan, Usage } from './genai/types.js';

export { PriceBook } from './pricing/price-book.js';
export type { PriceOverride, PriceResult, PriceSource, Pricer } from './pricing/types.js';

export type { FenraTransaction } from './fenra/transaction-schema.js';
export type { SpanView } from './span/span-view.js';
export { fromReadableSpan } from './span/from-readable-span.js';
export { spansFromOtlpJson, parseOtlpJsonText } from './span/from-otlp-json.js';
export { withFenraContext, fenraContext, FENRA_CONTEXT_KEYS } from './otel/with-fenra-context.js';
export type { FenraContext } from './otel/with-fenra-context.js';
export { flushFenra } from './register/flush.js';
export type { FlushFenraOptions } from './register/flush.js';
