import { attrString } from '../../span/attributes.js';
import type { Inclusivity } from '../usage.js';
import { normaliseUsage, readGenericCounts, SEMCONV_INCLUSIVE } from '../usage.js';
import type { Dialect } from './dialect.js';
import { classifySemconv } from './semconv.js';

/** Python OpenLLMetry scopes (JS scopes start with `@traceloop/`). */
const PY_SCOPES =
  /^opentelemetry\.instrumentation\.(?:anthropic|bedrock|openai(?:\.v\d)?|cohere|mistralai|groq|ollama|vertexai|together|replicate|watsonx|langchain|llamaindex|alephalpha|google_generativeai|sagemaker|transformers)$/;

const EXCLUSIVE_INPUT = { inputIncludesCache: false, outputIncludesReasoning: true };

/**
 * Where OpenLLMetry's input excludes the cache it reports beside it:
 * - `@traceloop/instrumentation-anthropic` (JS): its source folds the cache into input, but a
 *   real run of 0.27.0 (fixture `openllmetry-anthropic`) emits Anthropic's raw `input_tokens`;
 * - Python Bedrock Converse passes Bedrock's `inputTokens` (without cache) through.
 */
function inclusivity(scope: string, provider: string | undefined): Inclusivity {
  if (scope === '@traceloop/instrumentation-anthropic') return EXCLUSIVE_INPUT;
  if (provider === 'aws.bedrock' && !scope.startsWith('@traceloop/')) return EXCLUSIVE_INPUT;
  return SEMCONV_INCLUSIVE;
}

/**
 * OpenLLMetry / Traceloop, JS and Python, legacy (`llm.request.type`, `gen_ai.usage.prompt_tokens`,
 * `llm.usage.total_tokens`) and current (semconv names plus `gen_ai.usage.total_tokens`).
 * Workflow/task/agent/tool spans (`traceloop.span.kind`) are never model calls.
 */
export const openllmetry: Dialect = {
  id: 'openllmetry',
  claims(span) {
    const a = span.attributes;
    return (
      span.scope.name.startsWith('@traceloop/') ||
      PY_SCOPES.test(span.scope.name) ||
      a['llm.request.type'] !== undefined ||
      a['traceloop.span.kind'] !== undefined
    );
  },
  classify(span) {
    const a = span.attributes;
    const kind = attrString(a, 'traceloop.span.kind');
    if (kind !== undefined && kind !== 'llm') {
      return { kind: 'skip', reason: 'not_genai', detail: `traceloop ${kind} span` };
    }
    return classifySemconv(span, attrString(a, 'gen_ai.operation.name') ?? attrString(a, 'llm.request.type'));
  },
  usage(span, provider) {
    return normaliseUsage(
      readGenericCounts(span.attributes),
      inclusivity(span.scope.name, provider.canonical),
    );
  },
};
