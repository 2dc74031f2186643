/**
 * @fenra/otel — priced, per-customer AI usage for Fenra from the LLM calls your application
 * already traces with OpenTelemetry. What an application needs; the converter, the price book
 * and the span adapters are in `@fenra/otel/tools`.
 */
import { inProcessDestination } from './local/in-process-sink.js';
import { provideLocalDestination } from './otel/local-destination.js';

// Without an API key, a processor bills into the local sink (as `fenra-otel serve` does).
provideLocalDestination(inProcessDestination);

export { FenraSpanProcessor } from './otel/span-processor.js';
export type { FenraStats } from './otel/span-processor.js';
export { FenraSpanExporter } from './otel/span-exporter.js';
export type { FenraSpanExporterOptions } from './otel/span-exporter.js';
export type { FenraOptions } from './config/options.js';
export { ConfigurationError } from './config/options.js';
export type { FenraWarningCode } from './internal/process-warning.js';
export { withFenraContext } from './otel/with-fenra-context.js';
export type { FenraContext } from './otel/with-fenra-context.js';
export { flushFenra } from './register/flush.js';
export type { FlushFenraOptions } from './register/flush.js';
