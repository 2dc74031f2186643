import type { SpanView } from '../../span/span-view.js';
import type { AttrValue } from '../../span/span-view.js';
import { toJsonObject } from '../../span/attributes.js';
import type { AttributeScan } from '../attribute-scan.js';
import { firstIn, keyList, textIn } from '../attribute-scan.js';
import { K } from '../keys.js';
import { countsOnly } from '../reduce-json.js';
import type { Inclusivity, RawCounts } from '../usage.js';
import { mergeCounts, normaliseUsage, readGenericCounts, SEMCONV_INCLUSIVE } from '../usage.js';
import { countsFromProviderUsage } from '../provider-usage.js';
import type { Dialect } from './dialect.js';
import { classifySemconv } from './semconv.js';

/** ADK's tracer, and the `gen_ai.system` it puts on `call_llm` spans. */
export const ADK_SCOPE = 'gcp.vertex.agent';

/**
 * The whole LlmResponse of a `call_llm` span as JSON: the model's content (text, thoughts,
 * function calls) AND Gemini's `usageMetadata`, the only place ADK states the thinking and
 * cached counts. `"{}"` when content capture is off (ADK_CAPTURE_MESSAGE_CONTENT_IN_SPANS).
 * Only its `usageMetadata` numbers are ever read ({@link adkResponseCounts}), and only they are
 * kept: the billing filter reduces it to {@link ADK_RESPONSE_USAGE_FIELDS} before anything is held.
 */
export const ADK_LLM_RESPONSE = 'gcp.vertex.agent.llm_response';

/**
 * The fields read of {@link ADK_LLM_RESPONSE}, in the shape of a reduction that keeps count
 * fields only: a decode-time filter that reduces this attribute to these numbers gives the
 * same bill as the whole value, and holds no content.
 */
export const ADK_RESPONSE_USAGE_FIELDS = {
  usageMetadata: {
    promptTokenCount: 0,
    candidatesTokenCount: 0,
    thoughtsTokenCount: 0,
    cachedContentTokenCount: 0,
    totalTokenCount: 0,
  },
} as const;

/** The response attribute, reduced at decode time to its usage numbers (never its content). */
const LLM_RESPONSE = keyList([ADK_LLM_RESPONSE], countsOnly(ADK_RESPONSE_USAGE_FIELDS));

/**
 * The usage counts of ADK's LlmResponse JSON (a JSON string or an object), from its
 * `usageMetadata` only (Gemini's: prompt including the cache, candidates WITHOUT the thoughts);
 * undefined when it states none. Pure; reads nothing else of the value.
 */
export function adkResponseCounts(value: AttrValue | undefined): RawCounts | undefined {
  const response = toJsonObject(value);
  const meta = response?.['usageMetadata'];
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) return undefined;
  const u = meta as Record<string, unknown>;
  const picked: Record<string, unknown> = {};
  for (const field of Object.keys(ADK_RESPONSE_USAGE_FIELDS.usageMetadata)) {
    if (u[field] !== undefined) picked[field] = u[field];
  }
  if (picked['promptTokenCount'] === undefined && picked['candidatesTokenCount'] === undefined)
    return undefined;
  const counts = countsFromProviderUsage(picked);
  // The whole usage is stated: Gemini leaves out the cached and thoughts fields when they are 0.
  counts.cacheRead ??= 0;
  counts.reasoning ??= 0;
  return counts;
}

/** ADK's own numbers: input includes the cache, output is the candidates without thinking. */
const ADK_SPAN_COUNTS: Inclusivity = { inputIncludesCache: true, outputIncludesReasoning: false };

const isAdk = (span: SpanView, a: AttributeScan): boolean =>
  span.scope.name === ADK_SCOPE || textIn(a, K.system) === ADK_SCOPE;

/**
 * Google's Agent Development Kit (TypeScript `@google/adk`, recorded with 2.0.0; Python ADK
 * writes the same attributes). `call_llm` spans (no operation name; `gen_ai.system` is the
 * framework, the model names the provider) are the model calls; `invoke_agent`, `invocation`
 * and `execute_tool` carry no usage. A `call_llm` span states `gen_ai.usage.input_tokens`
 * (promptTokenCount) and `gen_ai.usage.output_tokens` (candidatesTokenCount, WITHOUT
 * thinking); the thinking and cached counts are only in the response JSON. With it, the
 * provider's own numbers are billed (in every mode: the span adapters keep its numbers); without
 * it (content capture off), output is billed without thinking and the call says so
 * (`reasoningMissing`).
 */
export const googleAdk: Dialect = {
  id: 'google-adk',
  claims: isAdk,
  classify: (span, a) => classifySemconv(span, a, textIn(a, K.operationName)),
  usage(_span, a) {
    const spanCounts = readGenericCounts(a);
    const fromResponse = firstIn(a, LLM_RESPONSE, adkResponseCounts);
    if (fromResponse !== undefined) {
      return normaliseUsage(mergeCounts(fromResponse, spanCounts), SEMCONV_INCLUSIVE);
    }
    const usage = normaliseUsage(spanCounts, ADK_SPAN_COUNTS);
    if (usage !== undefined && usage.reasoningTokens === undefined) usage.reasoningMissing = true;
    return usage;
  },
};
