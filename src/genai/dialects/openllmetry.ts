import type { SpanView } from '../../span/span-view.js';
import { hasIn, textIn } from '../attribute-scan.js';
import { K } from '../keys.js';
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
 * - `@traceloop/instrumentation-anthropic` (JS) up to 0.27 (the latest release when this was
 *   written): a real run of 0.27.0 (fixture `openllmetry-anthropic`) emits Anthropic's raw
 *   `input_tokens`. Its unreleased source folds the cache into input, so later versions are read
 *   as inclusive (the run-time check still catches a cache larger than the input);
 * - Python Bedrock Converse passes Bedrock's `inputTokens` (without cache) through.
 */
function inclusivity(scope: SpanView['scope'], provider: string | undefined): Inclusivity {
  if (scope.name === '@traceloop/instrumentation-anthropic') {
    return foldsCache(scope.version) ? SEMCONV_INCLUSIVE : EXCLUSIVE_INPUT;
  }
  if (provider === 'aws.bedrock' && !scope.name.startsWith('@traceloop/')) return EXCLUSIVE_INPUT;
  return SEMCONV_INCLUSIVE;
}

/** True for a version after 0.27 (unknown or unparsable versions: false, as released ones). */
function foldsCache(version: string | undefined): boolean {
  const m = version === undefined ? null : /^(\d+)\.(\d+)/.exec(version);
  if (m === null) return false;
  const major = Number(m[1]);
  return major > 0 || Number(m[2]) > 27;
}

/**
 * OpenLLMetry / Traceloop, JS and Python, legacy (`llm.request.type`, `gen_ai.usage.prompt_tokens`,
 * `llm.usage.total_tokens`) and current (semconv names plus `gen_ai.usage.total_tokens`).
 * Workflow/task/agent/tool spans (`traceloop.span.kind`) are never model calls.
 */
export const openllmetry: Dialect = {
  id: 'openllmetry',
  claims(span, a) {
    return (
      span.scope.name.startsWith('@traceloop/') ||
      PY_SCOPES.test(span.scope.name) ||
      hasIn(a, K.traceloopMarkers)
    );
  },
  classify(span, a) {
    const kind = textIn(a, K.traceloopSpanKind);
    if (kind !== undefined && kind !== 'llm') {
      return { kind: 'skip', reason: 'not_genai', detail: `traceloop ${kind} span` };
    }
    return classifySemconv(span, a, textIn(a, K.operationName) ?? textIn(a, K.llmRequestType));
  },
  usage(span, a, provider) {
    return normaliseUsage(readGenericCounts(a), inclusivity(span.scope, provider.canonical));
  },
};
