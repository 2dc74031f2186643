import type { Usage } from '../genai/types.js';
import type { CatalogUsage } from './fast-price.js';

/** Strip Vertex resource paths (`projects/…/publishers/google/models/x`, `models/x`): the catalog knows bare ids. */
export function catalogModelId(model: string): string {
  const i = model.lastIndexOf('/models/');
  if (i >= 0 && model.includes('publishers/')) return model.slice(i + 8);
  if (model.startsWith('models/')) return model.slice(7);
  return model;
}

function positive(v: number | undefined): v is number {
  return v !== undefined && v > 0;
}

/**
 * Translate our inclusive `Usage` to genai-prices usage keys. Both use the inclusive
 * convention (input includes cache read/write, output includes reasoning), so counts pass
 * straight through; optional parts are only set when positive. Only keys genai-prices
 * supports are emitted, so it never warns. Image/video counts and generated-image counts
 * that the catalog does not key by tokens are left out.
 */
export function toCatalogUsage(usage: Usage): CatalogUsage {
  const out: CatalogUsage = { input_tokens: usage.inputTokens, output_tokens: usage.outputTokens };
  if (positive(usage.cacheReadTokens)) out.cache_read_tokens = usage.cacheReadTokens;
  if (positive(usage.cacheWriteTokens)) out.cache_write_tokens = usage.cacheWriteTokens;
  if (positive(usage.cacheWrite1hTokens)) out.cache_write_1h_tokens = usage.cacheWrite1hTokens;
  if (positive(usage.audioInputTokens)) out.input_audio_tokens = usage.audioInputTokens;
  if (positive(usage.imageInputTokens)) out.input_image_tokens = usage.imageInputTokens;
  if (positive(usage.videoInputTokens)) out.input_video_tokens = usage.videoInputTokens;
  if (positive(usage.reasoningTokens)) out.output_reasoning_tokens = usage.reasoningTokens;
  if (positive(usage.audioOutputTokens)) out.output_audio_tokens = usage.audioOutputTokens;
  if (positive(usage.imageOutputTokens)) out.output_image_tokens = usage.imageOutputTokens;
  return out;
}

function isCount(v: number | undefined): boolean {
  return v === undefined || (typeof v === 'number' && Number.isFinite(v) && v >= 0);
}

/**
 * Usage that cannot be real: negative or non-finite counts, parts larger than their totals,
 * cache read + write above input. Such usage is not clamped here (the normaliser records
 * anomalies; a price built on a guess would look exact): it is left unpriced as `invalid_usage`.
 */
export function isImpossibleUsage(u: Usage): boolean {
  if (typeof u.inputTokens !== 'number' || typeof u.outputTokens !== 'number') return true;
  if (
    !isCount(u.inputTokens) ||
    !isCount(u.outputTokens) ||
    !isCount(u.cacheReadTokens) ||
    !isCount(u.cacheWriteTokens) ||
    !isCount(u.cacheWrite5mTokens) ||
    !isCount(u.cacheWrite1hTokens) ||
    !isCount(u.reasoningTokens) ||
    !isCount(u.audioInputTokens) ||
    !isCount(u.audioOutputTokens) ||
    !isCount(u.imageInputTokens) ||
    !isCount(u.imageOutputTokens) ||
    !isCount(u.videoInputTokens)
  ) {
    return true;
  }
  const input = u.inputTokens;
  const output = u.outputTokens;
  const cacheWrite = u.cacheWriteTokens ?? 0;
  if ((u.cacheReadTokens ?? 0) + cacheWrite > input) return true;
  if ((u.cacheWrite1hTokens ?? 0) + (u.cacheWrite5mTokens ?? 0) > cacheWrite) return true;
  if ((u.reasoningTokens ?? 0) > output) return true;
  if (
    (u.audioInputTokens ?? 0) > input ||
    (u.imageInputTokens ?? 0) > input ||
    (u.videoInputTokens ?? 0) > input
  ) {
    return true;
  }
  if ((u.audioOutputTokens ?? 0) > output || (u.imageOutputTokens ?? 0) > output) return true;
  return false;
}
