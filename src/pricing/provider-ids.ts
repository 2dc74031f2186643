import type { FenraProvider } from '../genai/types.js';

/**
 * Provider ids as the genai-prices catalog names them, keyed by the ids spans use:
 * OTel `gen_ai.provider.name` values, legacy `gen_ai.system` values and OpenInference
 * `llm.provider` values (lower-cased).
 *
 * Azure decision: every Azure flavour maps to the catalog's `azure` provider, never to
 * `openai`. The catalog lists Azure's own ("Global" deployment) prices there and falls back
 * to the origin providers (openai, anthropic, deepseek, x-ai, ...) only for models it does
 * not list, so the match is reported as provider `azure` either way. Passing
 * `azure.ai.openai` straight through would be wrong: the catalog's `provider_match` resolves
 * it to `openai`.
 */
const BY_SPAN_ID: Readonly<Record<string, string>> = {
  openai: 'openai',
  'azure.ai.openai': 'azure',
  'azure.ai.inference': 'azure',
  'az.ai.openai': 'azure',
  'az.ai.inference': 'azure',
  azure: 'azure',
  azure_openai: 'azure',
  anthropic: 'anthropic',
  'aws.bedrock': 'aws',
  aws: 'aws',
  bedrock: 'aws',
  'gcp.vertex_ai': 'google',
  'gcp.gemini': 'google',
  'gcp.gen_ai': 'google',
  google: 'google',
  vertex_ai: 'google',
  vertexai: 'google',
  gemini: 'google',
  x_ai: 'x-ai',
  xai: 'x-ai',
  'x-ai': 'x-ai',
  mistral_ai: 'mistral',
  mistralai: 'mistral',
  mistral: 'mistral',
  cohere: 'cohere',
  groq: 'groq',
  deepseek: 'deepseek',
  perplexity: 'perplexity',
  openrouter: 'openrouter',
  together: 'together',
  together_ai: 'together',
  fireworks: 'fireworks',
  fireworks_ai: 'fireworks',
  cerebras: 'cerebras',
  moonshot: 'moonshotai',
  moonshotai: 'moonshotai',
};

/** Span ids the catalog has no data for (priced only through overrides). */
const KNOWN_UNPRICED: ReadonlySet<string> = new Set(['ibm.watsonx.ai', 'watsonx']);

const BY_FENRA: Readonly<Record<FenraProvider, string | undefined>> = {
  openai: 'openai',
  anthropic: 'anthropic',
  gemini: 'google',
  bedrock: 'aws',
  xai: 'x-ai',
  deepseek: 'deepseek',
  custom: undefined,
};

/**
 * The genai-prices provider id for a call, or undefined when the catalog cannot price this
 * provider (the caller reports `unknown_provider`).
 *
 * The canonical span id wins over the Fenra enum (Fenra `openai` with canonical
 * `azure.ai.openai` is Azure). An unlisted canonical id falls back to the Fenra enum.
 */
export function toCatalogProviderId(fenra: FenraProvider, canonical: string | undefined): string | undefined {
  if (canonical !== undefined && canonical !== '') {
    const key = canonical.trim().toLowerCase();
    const mapped = BY_SPAN_ID[key];
    if (mapped !== undefined) return mapped;
    if (KNOWN_UNPRICED.has(key)) return undefined;
  }
  return BY_FENRA[fenra];
}
