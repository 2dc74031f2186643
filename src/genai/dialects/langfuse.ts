import { hasIn, jsonIn, keyList, parseCount, textIn } from '../attribute-scan.js';
import { K } from '../keys.js';
import { countsOnly, shapeOf } from '../reduce-json.js';
import type { RawCounts } from '../usage.js';
import { mergeCounts, normaliseUsage, readGenericCounts, SEMCONV_INCLUSIVE } from '../usage.js';
import { PROVIDER_USAGE_SHAPE, countsFromProviderUsage } from '../provider-usage.js';
import type { Dialect } from './dialect.js';

const num = parseCount;
const LANGFUSE_FIELDS = [
  'input',
  'output',
  'total',
  'total_tokens',
  'input_tokens',
  'output_tokens',
  'input_cached_tokens',
  'cache_read_input_tokens',
  'input_cache_read',
  'cached_tokens',
  'input_cache_creation',
  'cache_creation_input_tokens',
  'input_cache_write',
  'output_reasoning_tokens',
  'output_reasoning',
  'reasoning_tokens',
] as const;

/** `langfuse.observation.usage_details` (JSON): only the counts read below are kept. */
const USAGE_DETAILS = keyList(
  ['langfuse.observation.usage_details'],
  countsOnly(shapeOf(PROVIDER_USAGE_SHAPE, Object.fromEntries(LANGFUSE_FIELDS.map((f) => [f, 0] as const)))),
);

const first = (u: Record<string, unknown>, keys: readonly string[]): number | undefined => {
  for (const k of keys) {
    const v = num(u[k]);
    if (v !== undefined) return v;
  }
  return undefined;
};

/**
 * Langfuse `usage_details` are additive (Langfuse's total is the sum of all keys): `input`
 * excludes the cached and cache-write parts, `output` excludes reasoning. An object without
 * Langfuse's own `input`/`output` keys but with a provider's (`prompt_tokens`, or
 * `input_tokens` as OpenAI Responses and Anthropic name it) is the provider's raw usage,
 * passed through by the app, and read as such.
 */
function countsFromUsageDetails(u: Record<string, unknown>): RawCounts {
  const langfuseKeys = 'input' in u || 'output' in u;
  if (
    !langfuseKeys &&
    ('prompt_tokens' in u || 'completion_tokens' in u || 'input_tokens' in u || 'output_tokens' in u)
  ) {
    return countsFromProviderUsage(u);
  }
  const cacheRead = first(u, [
    'input_cached_tokens',
    'cache_read_input_tokens',
    'input_cache_read',
    'cached_tokens',
  ]);
  const cacheWrite = first(u, ['input_cache_creation', 'cache_creation_input_tokens', 'input_cache_write']);
  const reasoning = first(u, ['output_reasoning_tokens', 'output_reasoning', 'reasoning_tokens']);
  const input = first(u, ['input', 'input_tokens']);
  const output = first(u, ['output', 'output_tokens']);
  return {
    input: input === undefined ? undefined : input + (cacheRead ?? 0) + (cacheWrite ?? 0),
    output: output === undefined ? undefined : output + (reasoning ?? 0),
    total: first(u, ['total', 'total_tokens']),
    cacheRead,
    cacheWrite,
    reasoning,
  };
}

/** Langfuse SDK spans: `langfuse.observation.type` generation/embedding are model calls. */
export const langfuse: Dialect = {
  id: 'langfuse',
  claims: (_span, a) => hasIn(a, K.langfuseType),
  classify(_span, a) {
    const type = textIn(a, K.langfuseType)?.toLowerCase();
    if (type === 'generation') return { kind: 'call', operation: 'chat' };
    if (type === 'embedding') return { kind: 'call', operation: 'embeddings' };
    return hasIn(a, USAGE_DETAILS)
      ? { kind: 'skip', reason: 'aggregate', detail: `Langfuse ${type} observation` }
      : { kind: 'skip', reason: 'not_genai', detail: `Langfuse ${type} observation` };
  },
  usage(_span, a) {
    const details = jsonIn(a, USAGE_DETAILS);
    const fromDetails = details ? countsFromUsageDetails(details) : undefined;
    const generic = readGenericCounts(a);
    return normaliseUsage(fromDetails ? mergeCounts(fromDetails, generic) : generic, SEMCONV_INCLUSIVE);
  },
};
