import type { SpanView } from '../span/span-view.js';

/** Fenra's provider enum (see fenra-api.md). Anything else is `custom`, with the original kept in context. */
export type FenraProvider = 'openai' | 'anthropic' | 'gemini' | 'bedrock' | 'xai' | 'deepseek' | 'custom';

/** The attribute family a model-call span was read with. */
export type DialectId =
  | 'semconv'
  | 'openllmetry'
  | 'openinference'
  | 'vercel-ai'
  | 'anthropic-sdk'
  | 'openlit'
  | 'langfuse'
  | 'logfire'
  | 'langsmith'
  | 'adot-openai-agents'
  | 'google-adk'
  | 'microsoft-agent-framework'
  | 'strands';

/**
 * Usage in one inclusive convention: `inputTokens` includes cache reads and writes,
 * `outputTokens` includes reasoning. The parts are subsets of the totals. Made only by
 * `normaliseUsage`, with every key present (undefined when not stated) in one order: one object
 * shape for every dialect, so the code that reads usages stays monomorphic. Set a field to
 * undefined rather than deleting it.
 */
export interface Usage {
  inputTokens: number;
  outputTokens: number;
  /** Provider-reported total, when the span had one; else input + output. */
  totalTokens: number;
  cacheReadTokens?: number;
  cacheWriteTokens?: number;
  /** Anthropic cache-write split by TTL, when known (subsets of cacheWriteTokens). */
  cacheWrite5mTokens?: number;
  cacheWrite1hTokens?: number;
  reasoningTokens?: number;
  audioInputTokens?: number;
  audioOutputTokens?: number;
  imageInputTokens?: number;
  imageOutputTokens?: number;
  videoInputTokens?: number;
  /** Count of images generated (image endpoints), when the span says. */
  imagesGenerated?: number;
  /** True when the instrumentation estimated the counts (tokenizer, chars/6...). */
  estimated?: boolean;
  /** Cost reported by the provider or a gateway on the span (USD), never our own estimate. */
  providerCostUsd?: number;
  /**
   * A cost the span reports beside its counts (a gateway's, an instrumentation's or the
   * provider's), and the attribute it came from. Carried in the transaction context beside
   * the local estimate; never added to it.
   */
  reportedCost?: { usd: number; source: string };
  /**
   * The instrumentation is known to drop the cached part of the input (e.g.
   * `@opentelemetry/instrumentation-openai`): cached input is billed at the full input rate,
   * and the transaction says so.
   */
  cacheSplitMissing?: boolean;
  /**
   * The instrumentation is known to leave the model's reasoning (thinking) tokens out of its
   * output count, and the span states them nowhere else (e.g. Google ADK with content capture
   * off): output is billed without them, and the transaction says so.
   */
  reasoningMissing?: boolean;
  /** Things that looked wrong and were corrected (e.g. `cache_exceeds_input`). */
  anomalies?: string[];
  /**
   * A count the span states that is not a token count (`gen_ai.usage.input_tokens is "12abc"`):
   * the call is not billable (`invalid_usage`).
   */
  unreadable?: string;
}

export interface ResolvedProvider {
  /** Fenra's enum value. */
  fenra: FenraProvider;
  /** The value as the span said it (e.g. `az.ai.openai`, `openai.chat`), for context. */
  raw: string | undefined;
  /** A canonical OTel `gen_ai.provider.name`-style id (e.g. `azure.ai.openai`, `aws.bedrock`). */
  canonical: string | undefined;
}

/** One billable provider call recognised on a span, before attribution and pricing. */
export interface ModelCall {
  span: SpanView;
  dialect: DialectId;
  /** Normalised operation: `chat`, `text_completion`, `generate_content`, `embeddings`, `image`, ... */
  operation: string;
  provider: ResolvedProvider;
  /** The model to bill, normalised (response model, else request model). */
  model: string | undefined;
  requestModel: string | undefined;
  responseModel: string | undefined;
  /** `batch`, `flex`, `priority`, ... when the span says. */
  modelTier: string | undefined;
  /** Undefined when the span carries no usage at all. */
  usage: Usage | undefined;
  /** Provider response id (`gen_ai.response.id`), used to catch one response seen twice. */
  responseId: string | undefined;
  /** Region (`cloud.region`, ARN) for Bedrock pricing. */
  region: string | undefined;
}

/** Why a span produced no transaction. Every one is counted. */
export type SkipReason =
  | 'not_genai' // not a model-call span at all (most spans)
  | 'aggregate' // framework/agent span repeating its children's usage
  | 'duplicate' // the same provider call already billed from another span
  | 'failed_no_usage' // the call failed and reported no usage
  | 'missing_usage' // an LLM call with no usage (e.g. streaming without include_usage)
  | 'missing_model' // usage but no model id
  | 'invalid_usage' // a count is not a token count (NaN, negative, fractional, past 2^53 or the per-call ceiling)
  | 'invalid'; // the call cannot be billed as it is (e.g. a model id too long)

export interface SkippedSpan {
  traceId: string;
  spanId: string;
  name: string;
  reason: SkipReason;
  /** One human sentence. */
  detail?: string;
}
