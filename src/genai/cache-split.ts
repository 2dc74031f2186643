import type { SpanView } from '../span/span-view.js';
import type { ResolvedProvider, Usage } from './types.js';

/**
 * Instrumentations known to report a call's input without its cached part, although the
 * provider reports one (OpenAI caches prompts automatically; Bedrock Converse reports cache
 * reads and writes beside its input). Their transactions bill cached input at the full input
 * rate, so they say so (`cache_split_missing`) instead of doing it without a word. Each row
 * was checked on a recorded trace (test/fixtures/recorded).
 */
interface KnownGap {
  /** Instrumentation scope name, exact. */
  scope: string;
  /** Canonical providers the gap applies to. */
  providers: readonly string[];
  /** Operations the gap applies to (embeddings have no cache). */
  operations: readonly string[];
}

const GAPS: readonly KnownGap[] = [
  // Chat Completions and Responses: input/output totals only (0.21; fixtures openai-*).
  {
    scope: '@opentelemetry/instrumentation-openai',
    providers: ['openai', 'azure.ai.openai'],
    operations: ['chat', 'text_completion'],
  },
  // OpenLLMetry JS openai 0.27: no cache key on Chat Completions spans (openllmetry-openai).
  {
    scope: '@traceloop/instrumentation-openai',
    providers: ['openai', 'azure.ai.openai'],
    operations: ['chat', 'text_completion'],
  },
  // Converse: Bedrock's inputTokens (without cache), cache counts not copied (bedrock-converse).
  { scope: '@opentelemetry/instrumentation-aws-sdk', providers: ['aws.bedrock'], operations: ['chat'] },
  // LiteLLM's OTel callback: prompt tokens (cache included) without the cached part, which
  // only its raw response span carries (litellm-otel-transcribed).
  {
    scope: 'litellm',
    providers: ['openai', 'azure.ai.openai', 'anthropic', 'aws.bedrock', 'gcp.gemini', 'gcp.vertex_ai'],
    operations: ['chat'],
  },
  // ADOT's OpenAI Agents bridge: Responses API usage read without input_tokens_details; the
  // split sits on the enclosing turn span, from which convertTrace takes it
  // (split-from-aggregate.ts): flagged only where no turn span repeats the call.
  {
    scope: '@aws/aws-distro-opentelemetry-instrumentation-openai-agents',
    providers: ['openai', 'azure.ai.openai'],
    operations: ['chat'],
  },
  // Google ADK: call_llm states Gemini's prompt count (cache included) and nothing of the
  // cache beside it; the cached count is only in its response JSON, absent when content
  // capture is off (google-adk-agent).
  {
    scope: 'gcp.vertex.agent',
    providers: ['gcp.gemini', 'gcp.vertex_ai', 'gcp.gen_ai'],
    operations: ['chat'],
  },
  // Strands Agents' Anthropic model: Anthropic's input_tokens without any cache count (the
  // cache reads and writes of the response are not copied; strands-agents-transcribed).
  { scope: 'strands.telemetry.tracer', providers: ['anthropic'], operations: ['chat'] },
];

/** Marks usage whose cached part the instrumentation is known to drop (no cache count on the span). */
export function markKnownCacheGap(
  span: SpanView,
  provider: ResolvedProvider,
  operation: string,
  usage: Usage,
): void {
  if (usage.cacheReadTokens !== undefined || usage.cacheWriteTokens !== undefined) return;
  const scope = span.scope.name;
  for (const gap of GAPS) {
    if (
      gap.scope === scope &&
      provider.canonical !== undefined &&
      gap.providers.includes(provider.canonical) &&
      gap.operations.includes(operation)
    ) {
      usage.cacheSplitMissing = true;
      return;
    }
  }
}
