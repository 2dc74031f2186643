import type { PriceResult } from './types.js';

/** A price multiplier for a service tier, per catalog provider id (`*` for any). */
export interface TierMultiplier {
  /** genai-prices provider id (`openai`, `anthropic`, `google`, `aws`, `azure`...) or `*`. */
  provider: string;
  /** Lower-case tier name as spans report it (`batch`, `flex`, `priority`...). */
  tier: string;
  multiplier: number;
}

/**
 * Default tier multipliers: only the ones published as a flat fraction of the standard rate.
 * - `batch`: 50% at OpenAI, Azure OpenAI (Global Batch), Anthropic (Message Batches),
 *   Google (Gemini Batch API) and Bedrock batch inference.
 * - `flex`: OpenAI Flex processing is billed at Batch rates (50%).
 *
 * Not listed on purpose: `priority` (OpenAI's priority rates are a per-model table, 1.7–2×,
 * not one factor) and `scale`. A tier not listed here is priced at standard rates and flagged
 * (`tierNote: 'unknown_tier_priced_standard'`).
 */
export const DEFAULT_TIER_MULTIPLIERS: readonly TierMultiplier[] = [
  { provider: 'openai', tier: 'batch', multiplier: 0.5 },
  { provider: 'openai', tier: 'flex', multiplier: 0.5 },
  { provider: 'azure', tier: 'batch', multiplier: 0.5 },
  { provider: 'anthropic', tier: 'batch', multiplier: 0.5 },
  { provider: 'google', tier: 'batch', multiplier: 0.5 },
  { provider: 'aws', tier: 'batch', multiplier: 0.5 },
];

/** Tier names that mean "standard rates". */
export const STANDARD_TIERS: ReadonlySet<string> = new Set([
  '',
  'default',
  'standard',
  'auto',
  'on_demand',
  'on-demand',
]);

/** The tier's provenance and, when its multiplier is known, the scaled estimate. */
export interface TierProvenance {
  /** The request's tier (lower-cased) when it was not a standard one. */
  serviceTier?: string;
  /** Factor applied to the standard-rate estimate for `serviceTier` (1 when none known). */
  tierMultiplier?: number;
  /** Set when the tier has no known multiplier and standard rates were used. */
  tierNote?: 'unknown_tier_priced_standard';
}

/**
 * Scales a standard-rate estimate by the service tier's multiplier (the first rule for the tier
 * and the provider, or `*`); an unknown tier is priced at standard rates and flagged.
 */
export function applyTier<R extends PriceResult & TierProvenance>(
  result: R,
  tier: string | undefined,
  providerId: string,
  rules: readonly TierMultiplier[],
): R {
  const name = tier?.trim().toLowerCase() ?? '';
  if (STANDARD_TIERS.has(name)) return result;
  result.serviceTier = name;
  const rule = rules.find((t) => t.tier === name && (t.provider === '*' || t.provider === providerId));
  if (rule === undefined) {
    result.tierMultiplier = 1;
    result.tierNote = 'unknown_tier_priced_standard';
    return result;
  }
  result.tierMultiplier = rule.multiplier;
  if (result.usd !== null) result.usd = result.usd * rule.multiplier;
  return result;
}
