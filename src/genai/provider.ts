import type { AttributeScan } from './attribute-scan.js';
import { keyList, textIn } from './attribute-scan.js';
import { K } from './keys.js';
import type { FenraProvider, ResolvedProvider } from './types.js';

/**
 * Provider resolution: every spelling instrumentations use → a canonical OTel
 * `gen_ai.provider.name`-style id → Fenra's provider enum.
 */

/** Raw spellings (lower-cased) → canonical OTel provider id. */
const CANONICAL: Readonly<Record<string, string>> = {
  openai: 'openai',
  'azure.ai.openai': 'azure.ai.openai',
  'az.ai.openai': 'azure.ai.openai',
  azure: 'azure.ai.openai',
  'azure-openai': 'azure.ai.openai',
  azure_openai: 'azure.ai.openai',
  'azure.ai.inference': 'azure.ai.inference',
  'az.ai.inference': 'azure.ai.inference',
  'azure-ai-inference': 'azure.ai.inference',
  anthropic: 'anthropic',
  'aws.bedrock': 'aws.bedrock',
  aws: 'aws.bedrock',
  bedrock: 'aws.bedrock',
  'amazon-bedrock': 'aws.bedrock',
  amazon_bedrock: 'aws.bedrock',
  bedrock_converse: 'aws.bedrock',
  'gcp.vertex_ai': 'gcp.vertex_ai',
  vertex_ai: 'gcp.vertex_ai',
  vertexai: 'gcp.vertex_ai',
  vertex: 'gcp.vertex_ai',
  'gcp.gemini': 'gcp.gemini',
  gemini: 'gcp.gemini',
  google_genai: 'gcp.gemini',
  'google.generative-ai': 'gcp.gemini',
  'gcp.gen_ai': 'gcp.gen_ai',
  google: 'gcp.gen_ai',
  x_ai: 'x_ai',
  xai: 'x_ai',
  deepseek: 'deepseek',
  mistral_ai: 'mistral_ai',
  mistralai: 'mistral_ai',
  mistral: 'mistral_ai',
  cohere: 'cohere',
  groq: 'groq',
  perplexity: 'perplexity',
  'ibm.watsonx.ai': 'ibm.watsonx.ai',
  'ibm.watson.ai': 'ibm.watsonx.ai',
  watsonx: 'ibm.watsonx.ai',
  moonshot_ai: 'moonshot_ai',
  moonshot: 'moonshot_ai',
  together: 'together_ai',
  togetherai: 'together_ai',
  together_ai: 'together_ai',
  fireworks: 'fireworks',
  cerebras: 'cerebras',
  ollama: 'ollama',
};

/**
 * Values that name a framework or a gateway, not the model's provider: resolution keeps
 * looking (next attribute, host, model id). Gateways keep their name for `custom`.
 */
const NOT_A_PROVIDER = new Set([
  'gcp.vertex.agent',
  'strands-agents',
  'microsoft.agent_framework',
  'langchain',
  'crewai',
  'llama_index',
  'llamaindex',
  'pydantic_ai',
  'openai_agents',
  'spring_ai',
  'vercel_ai',
  'google_adk',
  'litellm',
  'gateway',
  'openrouter',
  'vllm',
  'huggingface',
  'hugging_face',
]);

const TO_FENRA: Readonly<Record<string, FenraProvider>> = {
  openai: 'openai',
  // Azure OpenAI bills the OpenAI models at OpenAI's list prices for global deployments; the
  // original spelling stays in context (`provider_raw`) so it can be told apart in Fenra.
  'azure.ai.openai': 'openai',
  anthropic: 'anthropic',
  'aws.bedrock': 'bedrock',
  'gcp.gemini': 'gemini',
  'gcp.gen_ai': 'gemini',
  'gcp.vertex_ai': 'gemini',
  x_ai: 'xai',
  deepseek: 'deepseek',
};

/** Host suffixes → canonical provider (for `server.address`). */
const HOSTS: ReadonlyArray<readonly [string, string]> = [
  ['api.openai.com', 'openai'],
  ['openai.azure.com', 'azure.ai.openai'],
  ['cognitiveservices.azure.com', 'azure.ai.openai'],
  ['services.ai.azure.com', 'azure.ai.inference'],
  ['api.anthropic.com', 'anthropic'],
  ['generativelanguage.googleapis.com', 'gcp.gemini'],
  ['aiplatform.googleapis.com', 'gcp.vertex_ai'],
  ['api.x.ai', 'x_ai'],
  ['api.deepseek.com', 'deepseek'],
  ['api.mistral.ai', 'mistral_ai'],
  ['api.groq.com', 'groq'],
  ['api.cohere.com', 'cohere'],
  ['api.cohere.ai', 'cohere'],
  ['api.perplexity.ai', 'perplexity'],
];

/** Model-id shapes → canonical provider, the last resort. */
function providerFromModel(model: string | undefined): string | undefined {
  if (!model) return undefined;
  const m = model.toLowerCase();
  if (m.startsWith('arn:aws:bedrock:')) return 'aws.bedrock';
  if (
    /^(?:[a-z]{2}(?:-gov)?\.|apac\.|global\.)?(?:anthropic|amazon|meta|cohere|mistral|ai21|deepseek|openai|qwen|writer)\.[a-z0-9]/.test(
      m,
    )
  ) {
    return 'aws.bedrock';
  }
  if (
    /^(?:gpt-|o\d(?:-|$)|chatgpt-|text-embedding-|dall-e|whisper|tts-|davinci|babbage|computer-use)/.test(m)
  )
    return 'openai';
  if (m.startsWith('claude')) return 'anthropic';
  if (m.startsWith('gemini') || m.startsWith('models/gemini') || m.includes('/models/gemini'))
    return 'gcp.gemini';
  if (m.startsWith('grok')) return 'x_ai';
  if (m.startsWith('deepseek')) return 'deepseek';
  if (/^(?:mistral|mixtral|codestral|pixtral|ministral|magistral)/.test(m)) return 'mistral_ai';
  return undefined;
}

/**
 * Memo for the two string → provider functions below: their inputs (`gen_ai.system`, host
 * names) take few distinct values in a process. Bounded; cleared when full.
 */
const MEMO_MAX = 512;
function memoised(fn: (s: string) => string | undefined): (s: string) => string | undefined {
  const memo = new Map<string, string | null>();
  return (s) => {
    const hit = memo.get(s);
    if (hit !== undefined) return hit ?? undefined;
    const v = fn(s);
    if (s.length <= 256) {
      if (memo.size >= MEMO_MAX) memo.clear();
      memo.set(s, v ?? null);
    }
    return v;
  };
}

/** Canonicalises one raw value; undefined when unknown or not a provider. */
export const canonicalProvider: (raw: string) => string | undefined = memoised(canonicalOf);

function canonicalOf(raw: string): string | undefined {
  let v = raw.trim().toLowerCase();
  if (NOT_A_PROVIDER.has(v)) return undefined;
  const direct = CANONICAL[v];
  if (direct) return direct;
  // Vercel AI SDK style `openai.chat`, `google.vertex.chat`, `vertex.anthropic.messages`.
  if (v.startsWith('google.vertex') || v.startsWith('google-vertex')) return 'gcp.vertex_ai';
  if (v.startsWith('vertex.anthropic')) return 'gcp.vertex_ai';
  if (v.startsWith('azure.') || v.startsWith('azure-')) return 'azure.ai.openai';
  const dot = v.indexOf('.');
  if (dot > 0) {
    v = v.slice(0, dot);
    if (NOT_A_PROVIDER.has(v)) return undefined;
    return CANONICAL[v];
  }
  return undefined;
}

const hostProvider = memoised(hostOf);

function fromHost(host: string | undefined): string | undefined {
  if (!host) return undefined;
  return hostProvider(host);
}

function hostOf(host: string): string | undefined {
  const h = host.toLowerCase();
  if (h.endsWith('.amazonaws.com') && h.includes('bedrock')) return 'aws.bedrock';
  for (const [suffix, canonical] of HOSTS) {
    if (h === suffix || h.endsWith('.' + suffix)) return canonical;
  }
  return undefined;
}

/** `gen_ai.provider.name`, `gen_ai.system`, OpenInference `llm.provider`, the AI SDK's `ai.model.provider`, LangSmith's `ls_provider`. */
const PROVIDER_LISTS = [
  K.providerName,
  K.system,
  keyList(['llm.provider']),
  K.aiModelProvider,
  // LangSmith: LangChain's provider id (`openai`, `anthropic`, `google_genai`, `bedrock`...).
  keyList(['langsmith.metadata.ls_provider']),
];

/**
 * Resolves the provider of a model call. Order: `gen_ai.provider.name`, `gen_ai.system`,
 * OpenInference `llm.provider` (+ `llm.system`), the AI SDK's `ai.model.provider`, then
 * `server.address`, then the model id's shape. `openai` with an Azure host is Azure.
 */
export function resolveProvider(a: AttributeScan, model: string | undefined): ResolvedProvider {
  let raw: string | undefined;
  let canonical: string | undefined;
  for (const list of PROVIDER_LISTS) {
    const value = textIn(a, list);
    if (value === undefined) continue;
    raw ??= value;
    canonical = canonicalProvider(value);
    if (canonical) {
      raw = value;
      break;
    }
  }
  // OpenInference: llm.provider is the host (aws, google), llm.system the family.
  if (canonical === 'gcp.gen_ai') {
    const system = textIn(a, K.llmSystem)?.toLowerCase();
    if (system === 'vertexai') canonical = 'gcp.vertex_ai';
  }
  const host = fromHost(textIn(a, K.serverAddress));
  if (canonical === undefined || (canonical === 'openai' && host === 'azure.ai.openai')) {
    canonical = host ?? canonical;
  }
  // Gateways (`openrouter`, `gateway`) name the upstream in the model: `anthropic/claude-...`.
  if (canonical === undefined && model && model.includes('/') && !model.startsWith('arn:')) {
    const vendor = model.slice(0, model.indexOf('/'));
    canonical = canonicalProvider(vendor === 'google' ? 'gcp.gemini' : vendor);
  }
  canonical ??= providerFromModel(model);
  // OpenRouter's own model ids (`openrouter/auto`...) name no upstream: the catalog prices them.
  if (canonical === undefined && raw?.toLowerCase() === 'openrouter') canonical = 'openrouter';
  return { fenra: toFenra(canonical, model), raw, canonical };
}

/** Canonical id (+ model, for Vertex partner models) → Fenra's enum. */
export function toFenra(canonical: string | undefined, model: string | undefined): FenraProvider {
  if (canonical === undefined) return 'custom';
  if (canonical === 'gcp.vertex_ai' && model) {
    const m = model.toLowerCase();
    // Claude on Vertex is billed at Anthropic's list price; other partner models are custom.
    if (m.includes('claude')) return 'anthropic';
    if (!m.includes('gemini') && !m.includes('gemma')) return 'custom';
  }
  return TO_FENRA[canonical] ?? 'custom';
}
