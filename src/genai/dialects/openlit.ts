import { firstIn, textIn } from '../attribute-scan.js';
import { K } from '../keys.js';
import { normaliseUsage, readGenericCounts, SEMCONV_INCLUSIVE } from '../usage.js';
import type { Dialect } from './dialect.js';
import { classifySemconv } from './semconv.js';

const isOpenlit = (v: unknown): true | undefined => (v === 'openlit' ? true : undefined);

/**
 * OpenLIT: semconv-like, but its Anthropic input EXCLUDES cache, and its `gen_ai.usage.cost`
 * is its own table's estimate (0 for unknown models), so it is ignored.
 */
export const openlit: Dialect = {
  id: 'openlit',
  claims: (span, a) =>
    firstIn(a, K.telemetrySdkName, isOpenlit) === true || span.scope.name.toLowerCase().includes('openlit'),
  classify: (span, a) => classifySemconv(span, a, textIn(a, K.operationName)),
  usage(_span, a, provider) {
    const anthropic = provider.canonical === 'anthropic';
    return normaliseUsage(
      readGenericCounts(a),
      anthropic ? { inputIncludesCache: false, outputIncludesReasoning: true } : SEMCONV_INCLUSIVE,
    );
  },
};
