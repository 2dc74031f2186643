/**
 * @fenra/otel/tools — the pieces behind the processor, for tools, tests and back-fills: the
 * one conversion stage (and `toTransactions` for spans already at hand), the price book, the
 * span adapters, and the renderer of Fenra's wire body.
 */
export { toTransactions } from './stage/to-transactions.js';
export type { ConversionResult, ToTransactionsOptions } from './stage/to-transactions.js';
export { ConversionStage } from './stage/conversion-stage.js';
export type { StageOptions, StageResult } from './stage/conversion-stage.js';
export type { PricedTransaction } from './stage/priced-transaction.js';
export type { ConversionOptions } from './genai/convert-trace.js';
export { DEFAULT_CUSTOMER_ID_KEYS, UNATTRIBUTED } from './genai/context.js';
export type { FenraProvider, SkipReason, SkippedSpan, Usage } from './genai/types.js';
export { PriceBook } from './pricing/price-book.js';
export type { PriceOverride, PriceResult, PriceSource, Pricer } from './pricing/types.js';
export { renderTransaction } from './fenra/render-transaction.js';
export type { FenraTransaction } from './fenra/transaction-schema.js';
export type { SpanView } from './span/span-view.js';
export { fromReadableSpan } from './span/from-readable-span.js';
export { spansFromOtlpJson, parseOtlpJsonText } from './span/from-otlp-json.js';
export type { AttributeFilter, AttributeRule } from './span/attribute-filter.js';
export { billingAttributeFilter } from './genai/billing-keys.js';
