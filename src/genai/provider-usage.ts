import type { AttributeScan, KeyList } from './attribute-scan.js';
import { asAmount, jsonIn, parseCount } from './attribute-scan.js';
import type { JsonShape } from './reduce-json.js';
import type { RawCounts } from './usage.js';

/**
 * A provider's own usage object (OpenAI, Anthropic, Gemini, Bedrock, Cohere), as SDKs return it
 * and as some instrumentations put it in a JSON attribute, read into {@link RawCounts}; and the
 * shape a decode-time reduction keeps of it (its numbers only).
 */

/** The fields {@link countsFromProviderUsage} reads (what an attribute filter keeps of such an object). */
export const PROVIDER_USAGE_SHAPE: JsonShape = {
  input_tokens: 0,
  output_tokens: 0,
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: 0,
  cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
  promptTokenCount: 0,
  candidatesTokenCount: 0,
  thoughtsTokenCount: 0,
  totalTokenCount: 0,
  cachedContentTokenCount: 0,
  inputTokens: 0,
  outputTokens: 0,
  totalTokens: 0,
  cacheReadInputTokens: 0,
  cacheWriteInputTokens: 0,
  prompt_tokens: 0,
  completion_tokens: 0,
  total_tokens: 0,
  prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
  input_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
  completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0 },
  output_tokens_details: { reasoning_tokens: 0, audio_tokens: 0 },
  billed_units: { input_tokens: 0, output_tokens: 0 },
  meta: { billed_units: { input_tokens: 0, output_tokens: 0 } },
  cost: 'usd',
};

const object = (v: unknown): Record<string, unknown> | undefined =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

/**
 * Billed counts where a provider reports both what it billed and what the model consumed
 * (Cohere: `billed_units` beside `tokens`, at the top of a v2 `usage` or under a v1 `meta`):
 * the billed ones, as the GenAI conventions require of instrumentations. Undefined when the
 * usage has no billed counts.
 */
function billedUnits(u: Record<string, unknown>): RawCounts | undefined {
  const billed = object(u['billed_units']) ?? object(object(u['meta'])?.['billed_units']);
  if (billed === undefined) return undefined;
  const input = parseCount(billed['input_tokens']);
  const output = parseCount(billed['output_tokens']);
  return input === undefined && output === undefined ? undefined : { input, output };
}

/** Reads a provider's raw usage object (Anthropic/OpenAI/Gemini/Bedrock/Cohere shapes) into RawCounts. */
export function countsFromProviderUsage(u: Record<string, unknown>): RawCounts {
  const n = parseCount;
  const usd = (v: unknown): number | undefined =>
    typeof v === 'number' || typeof v === 'string' ? asAmount(v) : undefined;
  const obj = object;
  const billed = billedUnits(u);
  if (billed !== undefined) return billed;
  // Anthropic: input_tokens EXCLUDES cache reads and writes.
  if ('cache_creation_input_tokens' in u || 'cache_read_input_tokens' in u || 'cache_creation' in u) {
    const ttl = obj(u['cache_creation']);
    const read = n(u['cache_read_input_tokens']) ?? 0;
    const write = n(u['cache_creation_input_tokens']) ?? 0;
    const input = n(u['input_tokens']);
    return {
      input: input === undefined ? undefined : input + read + write,
      output: n(u['output_tokens']),
      cacheRead: read,
      cacheWrite: write,
      cacheWrite5m: n(ttl?.['ephemeral_5m_input_tokens']),
      cacheWrite1h: n(ttl?.['ephemeral_1h_input_tokens']),
    };
  }
  // Gemini usageMetadata: thoughts are outside candidates; cached content inside prompt.
  if ('promptTokenCount' in u || 'candidatesTokenCount' in u) {
    const cand = n(u['candidatesTokenCount']);
    const thoughts = n(u['thoughtsTokenCount']);
    return {
      input: n(u['promptTokenCount']),
      output: cand === undefined ? undefined : cand + (thoughts ?? 0),
      total: n(u['totalTokenCount']),
      cacheRead: n(u['cachedContentTokenCount']),
      reasoning: thoughts,
    };
  }
  // Bedrock Converse: inputTokens excludes cache reads and writes.
  if ('inputTokens' in u && ('cacheReadInputTokens' in u || 'cacheWriteInputTokens' in u)) {
    const read = n(u['cacheReadInputTokens']) ?? 0;
    const write = n(u['cacheWriteInputTokens']) ?? 0;
    const input = n(u['inputTokens']);
    return {
      input: input === undefined ? undefined : input + read + write,
      output: n(u['outputTokens']),
      total: n(u['totalTokens']),
      cacheRead: read,
      cacheWrite: write,
    };
  }
  // OpenAI Chat Completions / Responses: totals include the details.
  const inDetails = obj(u['prompt_tokens_details']) ?? obj(u['input_tokens_details']);
  const outDetails = obj(u['completion_tokens_details']) ?? obj(u['output_tokens_details']);
  return {
    input: n(u['prompt_tokens']) ?? n(u['input_tokens']),
    output: n(u['completion_tokens']) ?? n(u['output_tokens']),
    total: n(u['total_tokens']),
    cacheRead: n(inDetails?.['cached_tokens']),
    reasoning: n(outDetails?.['reasoning_tokens']),
    audioIn: n(inDetails?.['audio_tokens']),
    audioOut: n(outDetails?.['audio_tokens']),
    providerCostUsd: usd(u['cost']),
    reportedCost: usd(u['cost']) === undefined ? undefined : { usd: usd(u['cost'])!, source: 'provider' },
  };
}

/** Parses a JSON usage attribute (e.g. Logfire `gen_ai.usage.raw`). */
export function countsFromJsonAttr(a: AttributeScan, list: KeyList): RawCounts | undefined {
  const u = jsonIn(a, list);
  return u ? countsFromProviderUsage(u) : undefined;
}
