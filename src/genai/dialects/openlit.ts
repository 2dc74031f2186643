import { attrString } from '../../span/attributes.js';
import { normaliseUsage, readGenericCounts, SEMCONV_INCLUSIVE } from '../usage.js';
import type { Dialect } from './dialect.js';
import { classifySemconv } from './semconv.js';

/**
 * OpenLIT: semconv-like, but its Anthropic input EXCLUDES cache, and its `gen_ai.usage.cost`
 * is its own table's estimate (0 for unknown models), so it is ignored.
 */
export const openlit: Dialect = {
  id: 'openlit',
  claims: (span) =>
    span.attributes['telemetry.sdk.name'] === 'openlit' || span.scope.name.toLowerCase().includes('openlit'),
  classify: (span) => classifySemconv(span, attrString(span.attributes, 'gen_ai.operation.name')),
  usage(span, provider) {
    const anthropic = provider.canonical === 'anthropic';
    return normaliseUsage(
      readGenericCounts(span.attributes),
      anthropic ? { inputIncludesCache: false, outputIncludesReasoning: true } : SEMCONV_INCLUSIVE,
    );
  },
};
