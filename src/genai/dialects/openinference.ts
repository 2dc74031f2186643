import { hasIn, textIn } from '../attribute-scan.js';
import { K } from '../keys.js';
import { normaliseUsage, readGenericCounts, SEMCONV_INCLUSIVE } from '../usage.js';
import type { Dialect } from './dialect.js';

/**
 * OpenInference (Arize): `openinference.span.kind` LLM and EMBEDDING spans are model calls;
 * usage in `llm.token_count.*`, totals inclusive of cache and reasoning.
 */
export const openinference: Dialect = {
  id: 'openinference',
  claims: (_span, a) => hasIn(a, K.openinferenceKind),
  classify(_span, a) {
    const kind = textIn(a, K.openinferenceKind)?.toUpperCase();
    if (kind === 'LLM') return { kind: 'call', operation: 'chat' };
    if (kind === 'EMBEDDING') return { kind: 'call', operation: 'embeddings' };
    return hasIn(a, K.openinferenceCounts)
      ? { kind: 'skip', reason: 'aggregate', detail: `OpenInference ${kind} span repeats model usage` }
      : { kind: 'skip', reason: 'not_genai', detail: `OpenInference ${kind} span` };
  },
  usage: (_span, a) => normaliseUsage(readGenericCounts(a), SEMCONV_INCLUSIVE),
};
