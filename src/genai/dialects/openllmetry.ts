import { attrString } from '../../span/attributes.js';
import { normaliseUsage, readGenericCounts, SEMCONV_INCLUSIVE } from '../usage.js';
import type { Dialect } from './dialect.js';
import { classifySemconv } from './semconv.js';

/** Python OpenLLMetry scopes (JS scopes start with `@traceloop/`). */
const PY_SCOPES =
  /^opentelemetry\.instrumentation\.(?:anthropic|bedrock|openai(?:\.v\d)?|cohere|mistralai|groq|ollama|vertexai|together|replicate|watsonx|langchain|llamaindex|alephalpha|google_generativeai|sagemaker|transformers)$/;

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
    // Python Bedrock Converse passes Bedrock's inputTokens (which excludes cache) through as
    // input and reports the cache beside it.
    const bedrockPy = provider.canonical === 'aws.bedrock' && !span.scope.name.startsWith('@traceloop/');
    return normaliseUsage(
      readGenericCounts(span.attributes),
      bedrockPy ? { inputIncludesCache: false, outputIncludesReasoning: true } : SEMCONV_INCLUSIVE,
    );
  },
};
