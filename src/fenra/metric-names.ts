import type { FenraProvider, Usage } from '../genai/types.js';

/**
 * THE table of Fenra metric names. Fenra's public docs show the token metrics of two styles
 * (fenra-api.md); names for the other usage types are not public, so every such choice is
 * here, in one place, to be corrected in one place.
 *
 * - `openai` style (OpenAI, xAI, Gemini, DeepSeek, custom): `input_tokens` INCLUDES cached
 *   tokens; `cached_tokens` and `reasoning_tokens` are parts of input and output.
 * - `anthropic` style (Anthropic, and Bedrock, whose own usage also reports input without
 *   cache): `input_tokens` EXCLUDES cache reads and writes, which are reported beside it.
 */
export type MetricStyle = 'openai' | 'anthropic';

export const STYLE_BY_PROVIDER: Readonly<Record<FenraProvider, MetricStyle>> = {
  openai: 'openai',
  xai: 'openai',
  gemini: 'openai',
  deepseek: 'openai',
  custom: 'openai',
  anthropic: 'anthropic',
  bedrock: 'anthropic',
};

export const TOKEN_METRICS = {
  input: 'input_tokens',
  output: 'output_tokens',
  total: 'total_tokens',
  /** openai style: cache reads, a part of input_tokens. */
  cached: 'cached_tokens',
  /** A part of output_tokens. */
  reasoning: 'reasoning_tokens',
  /** anthropic style: cache reads and writes, in addition to input_tokens. */
  cacheRead: 'cache_read_input_tokens',
  cacheWrite: 'cache_creation_input_tokens',
  /** Not in Fenra's public docs (our choice): modality parts of input/output. */
  audioInput: 'audio_input_tokens',
  audioOutput: 'audio_output_tokens',
  imageInput: 'image_input_tokens',
  imageOutput: 'image_output_tokens',
  videoInput: 'video_input_tokens',
} as const;

/** Not in Fenra's public docs (our choice): generated image count, usage type `images`. */
export const IMAGE_COUNT_METRIC = 'count';

/**
 * Renders inclusive Usage into the token metrics of the provider's style. A part the span did
 * not report (e.g. cached tokens from an instrumentation that doesn't emit them) is left out,
 * never sent as 0; a reported 0 is sent for the documented parts (cached, reasoning: "there
 * were none") and left out for the modality parts.
 */
export function tokenMetrics(provider: FenraProvider, u: Usage): Record<string, number> {
  const m: Record<string, number> = {};
  const cacheRead = u.cacheReadTokens ?? 0;
  const cacheWrite = u.cacheWriteTokens ?? 0;
  if (STYLE_BY_PROVIDER[provider] === 'anthropic') {
    m[TOKEN_METRICS.input] = Math.max(u.inputTokens - cacheRead - cacheWrite, 0);
    m[TOKEN_METRICS.output] = u.outputTokens;
    m[TOKEN_METRICS.total] = u.totalTokens;
    if (u.cacheReadTokens !== undefined) m[TOKEN_METRICS.cacheRead] = u.cacheReadTokens;
    if (u.cacheWriteTokens !== undefined) m[TOKEN_METRICS.cacheWrite] = u.cacheWriteTokens;
  } else {
    m[TOKEN_METRICS.input] = u.inputTokens;
    m[TOKEN_METRICS.output] = u.outputTokens;
    m[TOKEN_METRICS.total] = u.totalTokens;
    if (u.cacheReadTokens !== undefined) m[TOKEN_METRICS.cached] = u.cacheReadTokens;
    // Writes are billed apart where a provider charges for them (e.g. Claude through an
    // OpenAI-style gateway); only sent when there were some.
    if (cacheWrite > 0) m[TOKEN_METRICS.cacheWrite] = cacheWrite;
  }
  if (u.reasoningTokens !== undefined) m[TOKEN_METRICS.reasoning] = u.reasoningTokens;
  // Modality parts (names not in Fenra's public docs): only when there were some.
  if (u.audioInputTokens) m[TOKEN_METRICS.audioInput] = u.audioInputTokens;
  if (u.audioOutputTokens) m[TOKEN_METRICS.audioOutput] = u.audioOutputTokens;
  if (u.imageInputTokens) m[TOKEN_METRICS.imageInput] = u.imageInputTokens;
  if (u.imageOutputTokens) m[TOKEN_METRICS.imageOutput] = u.imageOutputTokens;
  if (u.videoInputTokens) m[TOKEN_METRICS.videoInput] = u.videoInputTokens;
  return m;
}
