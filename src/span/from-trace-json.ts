import type { SpanView } from './span-view.js';
import type { AttributeFilter } from './attribute-filter.js';
import { isJaegerJson, spansFromJaegerJson } from './from-jaeger-json.js';
import { spansFromOtlpJson } from './from-otlp-json.js';

/** The formats of a JSON trace document that `convert` reads. */
export type TraceJsonFormat = 'otlp' | 'jaeger';

/**
 * SpanViews from one parsed JSON document, whatever trace format it is in: an OTLP/JSON
 * ExportTraceServiceRequest (`resourceSpans`), or a Jaeger JSON export (`data[].spans`),
 * told apart by their top-level keys. `format` is undefined for a document that is neither
 * (no trace data: nothing converted, no error either).
 */
export function spansFromTraceJson(
  doc: unknown,
  keep?: AttributeFilter,
): { spans: SpanView[]; errors: string[]; format: TraceJsonFormat | undefined } {
  if (isJaegerJson(doc)) return { ...spansFromJaegerJson(doc, keep), format: 'jaeger' };
  const isOtlp =
    typeof doc === 'object' && doc !== null && ('resourceSpans' in doc || 'resource_spans' in doc);
  return { ...spansFromOtlpJson(doc, keep), format: isOtlp ? 'otlp' : undefined };
}
