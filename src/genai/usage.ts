import type { AttributeScan, KeyList } from './attribute-scan.js';
import { asAmount, countIn, keyList, maskOf } from './attribute-scan.js';
import type { Usage } from './types.js';

/**
 * Usage counts as a span states them, before deciding what they mean. Every field is optional;
 * a dialect fills what its instrumentation emits.
 */
export interface RawCounts {
  input?: number;
  output?: number;
  total?: number;
  cacheRead?: number;
  cacheWrite?: number;
  cacheWrite5m?: number;
  cacheWrite1h?: number;
  reasoning?: number;
  audioIn?: number;
  audioOut?: number;
  imageIn?: number;
  imageOut?: number;
  videoIn?: number;
  /** Text-modality parts (semantic-conventions-genai): subsets of input/output, never priced apart. */
  textIn?: number;
  textOut?: number;
  providerCostUsd?: number;
  /** A cost the span reports (gateway, instrumentation or provider), with where it was read. */
  reportedCost?: ReportedCost;
  estimated?: boolean;
}

export interface ReportedCost {
  usd: number;
  /** The attribute it was read from (e.g. `gen_ai.cost.total_cost`), or `provider` for the response's own usage. */
  source: string;
}

/**
 * Costs emitters put on a call span, in USD: OpenLIT `gen_ai.usage.cost`, LiteLLM
 * `gen_ai.cost.total_cost`, OpenInference `llm.cost.total`, Logfire and Pydantic AI
 * `operation.cost`. Carried beside the local estimate, never added to it.
 */
export const COST_KEYS = keyList([
  'gen_ai.cost.total_cost',
  'gen_ai.usage.cost',
  'llm.cost.total',
  'operation.cost',
]);

function readReportedCost(a: AttributeScan): ReportedCost | undefined {
  let mask = maskOf(a, COST_KEYS);
  while (mask !== 0) {
    const low = mask & -mask;
    const key = COST_KEYS.keys[31 - Math.clz32(low)]!;
    const usd = asAmount(a.attrs[key]);
    if (usd !== undefined) return { usd, source: key };
    mask ^= low;
  }
  return undefined;
}

/**
 * What a dialect knows about its numbers. `true`: the total already includes the part;
 * `false`: the part is reported beside the total and must be added. Either way the runtime
 * check still applies: a part larger than its total proves the total excluded it.
 */
export interface Inclusivity {
  inputIncludesCache: boolean;
  outputIncludesReasoning: boolean;
}

export const SEMCONV_INCLUSIVE: Inclusivity = { inputIncludesCache: true, outputIncludesReasoning: true };

/** Ordered key lists per field: current semconv first, then older and vendor spellings. */
export const KEYS = {
  input: [
    'gen_ai.usage.input_tokens',
    'gen_ai.usage.prompt_tokens',
    'llm.usage.prompt_tokens',
    'llm.token_count.prompt',
    'gen_ai.response.prompt_tokens',
  ],
  output: [
    'gen_ai.usage.output_tokens',
    'gen_ai.usage.completion_tokens',
    'llm.usage.completion_tokens',
    'llm.token_count.completion',
    'gen_ai.response.completion_tokens',
  ],
  total: ['gen_ai.usage.total_tokens', 'llm.usage.total_tokens', 'llm.token_count.total'],
  cacheRead: [
    'gen_ai.usage.cache_read.input_tokens',
    'gen_ai.usage.cache_read_input_tokens',
    // Sentry's AI spans before they took the semconv names.
    'gen_ai.usage.input_tokens.cached',
    'llm.token_count.prompt_details.cache_read',
    'gen_ai.usage.prompt_tokens_details.cached_tokens',
    'gen_ai.usage.prompt_tokens_details.cache_read',
    'gen_ai.usage.details.cache_read_tokens',
    'gen_ai.usage.details.cache_read_input_tokens',
  ],
  cacheWrite: [
    // semantic-conventions-genai renamed cache_creation to cache_write: the current name first.
    'gen_ai.usage.cache_write.input_tokens',
    'gen_ai.usage.cache_creation.input_tokens',
    'gen_ai.usage.input_tokens.cache_write',
    'gen_ai.usage.cache_creation_input_tokens',
    // Strands Agents (Bedrock Converse's cacheWriteInputTokens).
    'gen_ai.usage.cache_write_input_tokens',
    'llm.token_count.prompt_details.cache_write',
    'gen_ai.usage.prompt_tokens_details.cache_creation_tokens',
    'gen_ai.usage.prompt_tokens_details.cache_write',
    'gen_ai.usage.details.cache_write_tokens',
    'gen_ai.usage.details.cache_creation_input_tokens',
  ],
  cacheWrite5m: [
    'anthropic.usage.cache_creation.ephemeral_5m_input_tokens',
    // @mastra/otel-exporter
    'gen_ai.usage.cache_creation.5m_input_tokens',
  ],
  cacheWrite1h: [
    'anthropic.usage.cache_creation.ephemeral_1h_input_tokens',
    'gen_ai.usage.cache_creation.1h_input_tokens',
  ],
  reasoning: [
    'gen_ai.usage.reasoning.output_tokens',
    'gen_ai.usage.output_tokens.reasoning',
    'gen_ai.usage.reasoning_tokens',
    'llm.usage.reasoning_tokens',
    'llm.token_count.completion_details.reasoning',
    'gen_ai.usage.completion_tokens_details.reasoning_tokens',
    'gen_ai.usage.completion_tokens_details.reasoning',
    'gen_ai.usage.details.reasoning_tokens',
    'gen_ai.usage.details.thinking_tokens',
    'gen_ai.usage.experimental.reasoning_tokens',
  ],
  audioIn: [
    'gen_ai.usage.audio.input_tokens',
    'llm.token_count.prompt_details.audio',
    'gen_ai.usage.prompt_tokens_details.audio_tokens',
    'gen_ai.usage.details.input_audio_tokens',
    // @mastra/otel-exporter
    'gen_ai.usage.audio_input_tokens',
  ],
  audioOut: [
    'gen_ai.usage.audio.output_tokens',
    'llm.token_count.completion_details.audio',
    'gen_ai.usage.completion_tokens_details.audio_tokens',
    'gen_ai.usage.completion_tokens_details.audio',
    'gen_ai.usage.details.output_audio_tokens',
    'gen_ai.usage.audio_output_tokens',
  ],
  // Per-modality counts (semantic-conventions-genai): subsets of the input and output totals,
  // set only when the provider reports them. Never added to the totals.
  imageIn: ['gen_ai.usage.image.input_tokens'],
  imageOut: ['gen_ai.usage.image.output_tokens'],
  videoIn: ['gen_ai.usage.video.input_tokens'],
  textIn: ['gen_ai.usage.text.input_tokens'],
  textOut: ['gen_ai.usage.text.output_tokens'],
} as const satisfies Record<string, readonly string[]>;

type UsageField = keyof typeof KEYS;

/** The usage key lists, registered for attribute scans. */
export const USAGE_KEYS = Object.fromEntries(
  (Object.keys(KEYS) as UsageField[]).map((f) => [f, keyList(KEYS[f])]),
) as Record<UsageField, KeyList>;

/** True when any input/output/total token count (or a text-modality part of one) is on the span. */
export function hasTokenCounts(a: AttributeScan): boolean {
  return (
    countIn(a, USAGE_KEYS.input) !== undefined ||
    countIn(a, USAGE_KEYS.output) !== undefined ||
    countIn(a, USAGE_KEYS.total) !== undefined ||
    countIn(a, USAGE_KEYS.textIn) !== undefined ||
    countIn(a, USAGE_KEYS.textOut) !== undefined
  );
}

/** Reads every generic usage key family. */
export function readGenericCounts(a: AttributeScan): RawCounts {
  return {
    input: countIn(a, USAGE_KEYS.input),
    output: countIn(a, USAGE_KEYS.output),
    total: countIn(a, USAGE_KEYS.total),
    cacheRead: countIn(a, USAGE_KEYS.cacheRead),
    cacheWrite: countIn(a, USAGE_KEYS.cacheWrite),
    cacheWrite5m: countIn(a, USAGE_KEYS.cacheWrite5m),
    cacheWrite1h: countIn(a, USAGE_KEYS.cacheWrite1h),
    reasoning: countIn(a, USAGE_KEYS.reasoning),
    audioIn: countIn(a, USAGE_KEYS.audioIn),
    audioOut: countIn(a, USAGE_KEYS.audioOut),
    imageIn: countIn(a, USAGE_KEYS.imageIn),
    imageOut: countIn(a, USAGE_KEYS.imageOut),
    videoIn: countIn(a, USAGE_KEYS.videoIn),
    textIn: countIn(a, USAGE_KEYS.textIn),
    textOut: countIn(a, USAGE_KEYS.textOut),
    providerCostUsd: undefined,
    reportedCost: readReportedCost(a),
    estimated: undefined,
  };
}

/**
 * Fills fields missing in `base` from `extra`, into counts with every field present in one
 * order (as {@link readGenericCounts} makes them): one object shape for `normaliseUsage` to read.
 */
export function mergeCounts(base: RawCounts, extra: RawCounts | undefined): RawCounts {
  const x: RawCounts = extra ?? NO_COUNTS;
  return {
    input: base.input ?? x.input,
    output: base.output ?? x.output,
    total: base.total ?? x.total,
    cacheRead: base.cacheRead ?? x.cacheRead,
    cacheWrite: base.cacheWrite ?? x.cacheWrite,
    cacheWrite5m: base.cacheWrite5m ?? x.cacheWrite5m,
    cacheWrite1h: base.cacheWrite1h ?? x.cacheWrite1h,
    reasoning: base.reasoning ?? x.reasoning,
    audioIn: base.audioIn ?? x.audioIn,
    audioOut: base.audioOut ?? x.audioOut,
    imageIn: base.imageIn ?? x.imageIn,
    imageOut: base.imageOut ?? x.imageOut,
    videoIn: base.videoIn ?? x.videoIn,
    textIn: base.textIn ?? x.textIn,
    textOut: base.textOut ?? x.textOut,
    providerCostUsd: base.providerCostUsd ?? x.providerCostUsd,
    reportedCost: base.reportedCost ?? x.reportedCost,
    estimated: base.estimated ?? x.estimated,
  };
}

const NO_COUNTS: RawCounts = Object.freeze({});

/**
 * Turns raw counts into inclusive Usage. Returns undefined when the span carries no token
 * counts at all (missing usage, never zero). Impossible combinations are corrected and noted
 * in `anomalies` rather than thrown or priced negative.
 */
export function normaliseUsage(raw: RawCounts, incl: Inclusivity): Usage | undefined {
  if (
    raw.input === undefined &&
    raw.output === undefined &&
    raw.total === undefined &&
    raw.textIn === undefined &&
    raw.textOut === undefined
  ) {
    return undefined;
  }
  let anomalies: string[] | undefined;
  const cacheRead = raw.cacheRead ?? 0;
  const cacheWrite = raw.cacheWrite ?? 0;
  const reasoning = raw.reasoning ?? 0;

  let input = raw.input;
  let output = raw.output;
  // Only per-modality parts (text included, so they are the whole): their sum is the total.
  if (input === undefined && raw.textIn !== undefined) input = modalitySum(raw.textIn, raw);
  if (output === undefined && raw.textOut !== undefined) {
    output = raw.textOut + (raw.audioOut ?? 0) + (raw.imageOut ?? 0);
  }
  if (input === undefined && output === undefined) {
    // Only a total (e.g. some embeddings spans): all of it is input.
    input = raw.total;
    output = 0;
  }
  input ??= Math.max((raw.total ?? 0) - (output ?? 0), 0);
  output ??= Math.max((raw.total ?? 0) - input, 0);

  if (!incl.inputIncludesCache) {
    input += cacheRead + cacheWrite;
  } else if (cacheRead + cacheWrite > input) {
    // A part larger than the whole: this emitter reported input without the cache.
    input += cacheRead + cacheWrite;
    (anomalies ??= []).push('input_excluded_cache');
  }
  // Modality parts are subsets of the totals: parts adding up to more prove the total left
  // one out (e.g. text only).
  const parts = modalitySum(raw.textIn ?? 0, raw);
  if (parts > input) {
    input = parts;
    (anomalies ??= []).push('input_excluded_modality');
  }
  const outParts = (raw.textOut ?? 0) + (raw.audioOut ?? 0) + (raw.imageOut ?? 0);
  if (outParts > output) {
    output = outParts;
    (anomalies ??= []).push('output_excluded_modality');
  }
  if (!incl.outputIncludesReasoning) {
    output += reasoning;
  } else if (reasoning > output) {
    output += reasoning;
    (anomalies ??= []).push('output_excluded_reasoning');
  }

  // Every field in one literal, in one order: every Usage has the same shape (hidden class), so
  // the code reading it (pricing, rendering, checks) stays monomorphic across dialects.
  const usage: Usage = {
    inputTokens: input,
    outputTokens: output,
    // Providers' totals can include more than input+output (e.g. Gemini tool-use prompt tokens).
    totalTokens: raw.total !== undefined && raw.total > input + output ? raw.total : input + output,
    cacheReadTokens: raw.cacheRead,
    cacheWriteTokens: raw.cacheWrite,
    cacheWrite5mTokens: raw.cacheWrite5m,
    cacheWrite1hTokens: raw.cacheWrite1h,
    reasoningTokens: raw.reasoning,
    audioInputTokens: raw.audioIn,
    audioOutputTokens: raw.audioOut,
    imageInputTokens: raw.imageIn,
    imageOutputTokens: raw.imageOut,
    videoInputTokens: raw.videoIn,
    imagesGenerated: undefined,
    estimated: raw.estimated ? true : undefined,
    providerCostUsd:
      raw.providerCostUsd !== undefined && raw.providerCostUsd > 0 ? raw.providerCostUsd : undefined,
    // A reported 0 is an emitter's "unknown model" (OpenLIT), not a free call: left out.
    reportedCost: raw.reportedCost !== undefined && raw.reportedCost.usd > 0 ? raw.reportedCost : undefined,
    cacheSplitMissing: undefined,
    reasoningMissing: undefined,
    anomalies,
    unreadable: undefined,
  };
  return usage;
}

/** Text plus the other input modalities the span states. */
function modalitySum(text: number, raw: RawCounts): number {
  return text + (raw.audioIn ?? 0) + (raw.imageIn ?? 0) + (raw.videoIn ?? 0);
}
