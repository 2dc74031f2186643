import { attrString } from '../../span/attributes.js';
import type { SpanView } from '../../span/span-view.js';
import {
  countsFromJsonAttr,
  mergeCounts,
  normaliseUsage,
  readGenericCounts,
  SEMCONV_INCLUSIVE,
} from '../usage.js';
import type { Dialect } from './dialect.js';
import { classifySemconv, hasTokenCounts } from './semconv.js';

function isStreamingRequest(span: SpanView): boolean {
  const a = span.attributes;
  if (a['gen_ai.request.stream'] === true) return true;
  const req = attrString(a, 'request_data');
  return req !== undefined && /"stream"\s*:\s*true/.test(req);
}

/**
 * Pydantic Logfire (and Pydantic AI through it). Non-streaming calls carry usage on the request
 * span; streaming calls carry it on a separate zero-duration log span
 * (`streaming response from ...`), so the streaming request span itself is not billed.
 * `operation.cost` is Logfire's own estimate, not the provider's, and is ignored.
 */
export const logfire: Dialect = {
  id: 'logfire',
  claims: (span) =>
    span.attributes['logfire.msg'] !== undefined ||
    span.attributes['logfire.span_type'] !== undefined ||
    span.scope.name.startsWith('logfire') ||
    span.scope.name.startsWith('pydantic-ai'),
  classify(span) {
    const a = span.attributes;
    if (span.name.startsWith('streaming response from') && hasTokenCounts(a)) {
      return { kind: 'call', operation: attrString(a, 'gen_ai.operation.name') ?? 'chat' };
    }
    if (!hasTokenCounts(a) && isStreamingRequest(span)) {
      return {
        kind: 'skip',
        reason: 'aggregate',
        detail: 'streaming request: usage is on its response log span',
      };
    }
    return classifySemconv(span, attrString(a, 'gen_ai.operation.name'));
  },
  usage(span) {
    const generic = readGenericCounts(span.attributes);
    return normaliseUsage(
      mergeCounts(generic, countsFromJsonAttr(span.attributes, 'gen_ai.usage.raw')),
      SEMCONV_INCLUSIVE,
    );
  },
};
