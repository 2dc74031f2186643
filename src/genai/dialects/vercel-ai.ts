import type { AttributeScan } from '../attribute-scan.js';
import { countIn, hasIn, jsonIn, keyList, parseCount, textIn } from '../attribute-scan.js';
import { K } from '../keys.js';
import { countsOnly } from '../reduce-json.js';
import type { Inclusivity, RawCounts } from '../usage.js';
import { mergeCounts, normaliseUsage, SEMCONV_INCLUSIVE } from '../usage.js';
import { PROVIDER_USAGE_SHAPE, countsFromProviderUsage } from '../provider-usage.js';
import type { Dialect } from './dialect.js';

const INPUT = keyList([
  'ai.usage.inputTokens',
  'ai.usage.promptTokens',
  'ai.usage.tokens',
  'gen_ai.usage.input_tokens',
]);
const OUTPUT = keyList(['ai.usage.outputTokens', 'ai.usage.completionTokens', 'gen_ai.usage.output_tokens']);
const TOTAL = keyList(['ai.usage.totalTokens']);
const CACHE_READ = keyList(['ai.usage.cachedInputTokens', 'ai.usage.inputTokenDetails.cacheReadTokens']);
const CACHE_WRITE = keyList(['ai.usage.inputTokenDetails.cacheWriteTokens']);
const REASONING = keyList(['ai.usage.reasoningTokens', 'ai.usage.outputTokenDetails.reasoningTokens']);
const NO_CACHE = keyList(['ai.usage.inputTokenDetails.noCacheTokens']);
/** Attributes only AI SDK 6 and later write (usage details of LanguageModelV3). */
const V6_DETAILS = keyList([
  'ai.usage.inputTokenDetails.noCacheTokens',
  'ai.usage.inputTokenDetails.cacheReadTokens',
  'ai.usage.inputTokenDetails.cacheWriteTokens',
  'ai.usage.outputTokenDetails.textTokens',
  'ai.usage.outputTokenDetails.reasoningTokens',
]);

const obj = (v: unknown): Record<string, unknown> | undefined =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
const num = parseCount;

/**
 * `ai.response.providerMetadata`: the provider's response extras (JSON), which can hold content
 * (grounding queries, log-probabilities). Only the counts read below are kept.
 */
const PROVIDER_METADATA = keyList(
  ['ai.response.providerMetadata'],
  countsOnly({
    anthropic: { usage: PROVIDER_USAGE_SHAPE, cacheCreationInputTokens: 0 },
    google: { usageMetadata: PROVIDER_USAGE_SHAPE },
    vertex: { usageMetadata: PROVIDER_USAGE_SHAPE },
    bedrock: { usage: PROVIDER_USAGE_SHAPE },
    openai: { cachedPromptTokens: 0, reasoningTokens: 0 },
    azure: { cachedPromptTokens: 0, reasoningTokens: 0 },
  }),
);

/**
 * The provider's own usage from `ai.response.providerMetadata`, when it is there: it settles
 * what the AI SDK's numbers mean (v5 Anthropic input excludes cache, v5 Google output excludes
 * thinking; v6+ include both).
 */
function providerCounts(a: AttributeScan): { counts: RawCounts; exact: boolean } | undefined {
  const meta = jsonIn(a, PROVIDER_METADATA);
  if (!meta) return undefined;
  const anthropic = obj(meta['anthropic']);
  const anthropicUsage = obj(anthropic?.['usage']);
  if (anthropicUsage && num(anthropicUsage['input_tokens']) !== undefined) {
    return { counts: countsFromProviderUsage(anthropicUsage), exact: true };
  }
  const google = obj(meta['google']) ?? obj(meta['vertex']);
  const gUsage = obj(google?.['usageMetadata']);
  if (gUsage && num(gUsage['promptTokenCount']) !== undefined) {
    return { counts: countsFromProviderUsage(gUsage), exact: true };
  }
  const bedrockUsage = obj(obj(meta['bedrock'])?.['usage']);
  const openai = obj(meta['openai']) ?? obj(meta['azure']);
  const counts: RawCounts = {
    cacheWrite: num(anthropic?.['cacheCreationInputTokens']) ?? num(bedrockUsage?.['cacheWriteInputTokens']),
    cacheRead: num(openai?.['cachedPromptTokens']) ?? num(bedrockUsage?.['cacheReadInputTokens']),
    reasoning: num(openai?.['reasoningTokens']),
  };
  return { counts, exact: false };
}

/**
 * The Vercel AI SDK `ai.*` telemetry (v3–v6, and v7's legacy integration). Only the inner
 * provider-call spans (`*.doGenerate`, `*.doStream`, `*.doEmbed`) are model calls; the outer
 * `ai.generateText`/`ai.streamText`/... spans repeat their usage and are aggregates.
 */
export const vercelAi: Dialect = {
  id: 'vercel-ai',
  claims: (_span, a) => hasIn(a, K.aiOperationId),
  classify(_span, a) {
    const op = textIn(a, K.aiOperationId) ?? '';
    if (op.endsWith('.doEmbed')) return { kind: 'call', operation: 'embeddings' };
    if (op.endsWith('.doGenerate') || op.endsWith('.doStream')) return { kind: 'call', operation: 'chat' };
    return countIn(a, INPUT) !== undefined || countIn(a, OUTPUT) !== undefined
      ? { kind: 'skip', reason: 'aggregate', detail: `${op} repeats the usage of its provider calls` }
      : { kind: 'skip', reason: 'not_genai', detail: `${op} is not a provider call` };
  },
  usage(_span, a) {
    const sdk: RawCounts = {
      input: countIn(a, INPUT),
      output: countIn(a, OUTPUT),
      total: countIn(a, TOTAL),
      cacheRead: countIn(a, CACHE_READ),
      cacheWrite: countIn(a, CACHE_WRITE),
      reasoning: countIn(a, REASONING),
    };
    // AI SDK 6+ reports complete, inclusive numbers with their parts; the provider's raw usage
    // then only adds Anthropic's cache-write TTL split (1h writes cost more). Parsing it is
    // the costliest step of a span, so it is skipped where it cannot change the result.
    const beforeV6 = isBeforeV6(a);
    const fromProvider =
      beforeV6 || (textIn(a, K.aiModelProvider) ?? '').includes('anthropic') ? providerCounts(a) : undefined;
    if (fromProvider?.exact) {
      // The provider's own numbers are the truth; the SDK's fill what they lack.
      return normaliseUsage(mergeCounts(fromProvider.counts, sdk), SEMCONV_INCLUSIVE);
    }
    const counts = mergeCounts(sdk, fromProvider?.counts);
    // Without the provider's raw usage: v7 legacy spans say so explicitly (noCacheTokens);
    // otherwise the numbers follow v6+ (inclusive), checked at run time by normaliseUsage.
    const noCache = countIn(a, NO_CACHE);
    if (noCache !== undefined && counts.input !== undefined && noCache === counts.input) {
      return normaliseUsage(counts, EXCLUSIVE_INPUT);
    }
    return normaliseUsage(counts, beforeV6 ? v5Inclusivity(a) : SEMCONV_INCLUSIVE);
  },
};

const EXCLUSIVE_INPUT: Inclusivity = { inputIncludesCache: false, outputIncludesReasoning: true };
const EXCLUSIVE_OUTPUT: Inclusivity = { inputIncludesCache: true, outputIncludesReasoning: false };

/**
 * AI SDK 4 and 5 (no usage details, or a `user-agent` header of `ai/4.x`/`ai/5.x`): their
 * provider packages passed some providers' numbers through without the parts.
 */
function isBeforeV6(a: AttributeScan): boolean {
  const ua = textIn(a, K.aiUserAgent);
  const major = ua === undefined ? undefined : /(?:^|\s)ai\/(\d+)\./.exec(ua)?.[1];
  if (major !== undefined) return Number(major) < 6;
  return !hasIn(a, V6_DETAILS);
}

/**
 * What AI SDK 5 (and 4) numbers mean per provider package: Anthropic (direct or on Vertex) and
 * Amazon Bedrock report input WITHOUT cache reads and writes; Google (Gemini, Vertex) reports
 * output WITHOUT thinking tokens; OpenAI-compatible ones include both.
 */
function v5Inclusivity(a: AttributeScan): Inclusivity {
  const p = (textIn(a, K.aiModelProvider) ?? '').toLowerCase();
  if (p.includes('anthropic') || p.includes('bedrock')) return EXCLUSIVE_INPUT;
  if (p.startsWith('google') || p.startsWith('vertex')) return EXCLUSIVE_OUTPUT;
  return SEMCONV_INCLUSIVE;
}
