import { attrString } from '../../span/attributes.js';
import { normaliseUsage, readGenericCounts, SEMCONV_INCLUSIVE } from '../usage.js';
import type { Dialect } from './dialect.js';

/**
 * OpenInference (Arize): `openinference.span.kind` LLM and EMBEDDING spans are model calls;
 * usage in `llm.token_count.*`, totals inclusive of cache and reasoning.
 */
export const openinference: Dialect = {
  id: 'openinference',
  claims: (span) => span.attributes['openinference.span.kind'] !== undefined,
  classify(span) {
    const a = span.attributes;
    const kind = attrString(a, 'openinference.span.kind')?.toUpperCase();
    if (kind === 'LLM') return { kind: 'call', operation: 'chat' };
    if (kind === 'EMBEDDING') return { kind: 'call', operation: 'embeddings' };
    return a['llm.token_count.prompt'] !== undefined || a['llm.token_count.total'] !== undefined
      ? { kind: 'skip', reason: 'aggregate', detail: `OpenInference ${kind} span repeats model usage` }
      : { kind: 'skip', reason: 'not_genai', detail: `OpenInference ${kind} span` };
  },
  usage: (span) => normaliseUsage(readGenericCounts(span.attributes), SEMCONV_INCLUSIVE),
};
