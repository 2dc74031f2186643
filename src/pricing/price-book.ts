import { calcPrice, findProvider } from '@pydantic/genai-prices';
import type { ModelInfo, ModelPrice, Provider } from '@pydantic/genai-prices';
import type { Usage } from '../genai/types.js';
import { buildPlan, compileSchedule, planCovers, priceWithPlan, selectPrice } from './fast-price.js';
import type { CatalogUsage, PlanPrice, PricePlan, PriceSchedule } from './fast-price.js';
import { toCatalogProviderId } from './provider-ids.js';
import type { PriceOverride, PriceRequest, PriceResult, Pricer, UnpricedReason } from './types.js';

/**
 * Version of the bundled `@pydantic/genai-prices` catalog. Kept as a constant (no file I/O
 * at import, works in both the ESM and CJS builds); the dependency is pinned exactly and
 * `test/pricing/provider-ids.test.ts` fails if this drifts from the installed package.
 */
const GENAI_PRICES_VERSION = '0.1.8';

/** `genai-prices@<version>`: stamp this on every transaction priced from the catalog. */
export function catalogVersion(): string {
  return `genai-prices@${GENAI_PRICES_VERSION}`;
}

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
const STANDARD_TIERS: ReadonlySet<string> = new Set([
  '',
  'default',
  'standard',
  'auto',
  'on_demand',
  'on-demand',
]);

export interface PriceBookOptions {
  /**
   * Customer rates in USD per million tokens, checked before the catalog. `provider` may be
   * the Fenra enum value, the canonical span id, the catalog id (`azure`, `aws`...) or `*`.
   * Exact model ids win over globs; among equals, the first listed wins. Matching is
   * case-insensitive. Cache reads/writes without their own rate use the input rate.
   */
  overrides?: PriceOverride[];
  /** Extra or replacement tier multipliers, checked before `DEFAULT_TIER_MULTIPLIERS`. */
  tierMultipliers?: TierMultiplier[];
  /** Most (provider, model) resolutions kept in memory; the cache is cleared when full. Default 10,000. */
  maxCacheEntries?: number;
}

/** A `PriceResult` with the service-tier provenance. */
export interface PriceBookResult extends PriceResult {
  /** The request's tier (lower-cased) when it was not a standard one. */
  serviceTier?: string;
  /** Factor applied to the standard-rate estimate for `serviceTier` (1 when none known). */
  tierMultiplier?: number;
  /** Set when the tier has no known multiplier and standard rates were used. */
  tierNote?: 'unknown_tier_priced_standard';
}

interface Resolved {
  kind: 'ok';
  provider: Provider;
  model: ModelInfo;
  schedule: PriceSchedule;
  /** Groq Whisper has a per-call minimum that calcPrice applies itself: always ask calcPrice. */
  rawOnly: boolean;
}
type Resolution = Resolved | { kind: 'unpriced'; reason: UnpricedReason };

interface CompiledOverride {
  source: PriceOverride;
  provider: string;
  exact: string | undefined;
  pattern: RegExp | undefined;
}

const INVALID_USAGE = 'invalid_usage' as const;

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

function globToRegExp(glob: string): RegExp {
  const body = glob
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`, 'i');
}

/**
 * The catalog-backed `Pricer`.
 *
 * - Provider ids are mapped with `toCatalogProviderId` (Azure → the catalog's `azure`).
 * - Prices at the call's timestamp (price history, time-of-day prices).
 * - Model resolution is memoised per (catalog provider, model); the price itself is computed
 *   from the matched model's price data by `fast-price.ts`, which reproduces `calcPrice`
 *   exactly (tiers, cliffs, time-dependent prices). Anything it does not model goes through
 *   `calcPrice`, always wrapped: a throw becomes `invalid_usage` or `pricing_error`.
 * - Never 0 for unknown: unknown provider/model → `usd: null`, `source: 'unpriced'`.
 * - Overrides win over the catalog (`source: 'override'`).
 * - A provider-reported cost (`usage.providerCostUsd`) wins over everything
 *   (`source: 'provider'`), with our own estimate in `catalogUsd`.
 * - Service tiers scale the estimate (catalog or override) by `tierMultiplier`; an unknown
 *   tier is priced at standard rates and flagged with `tierNote`.
 * - The memo assumes the bundled catalog: call `clearCache()` after `updatePrices()`.
 */
export class PriceBook implements Pricer {
  private readonly overrides: CompiledOverride[];
  private readonly tiers: readonly TierMultiplier[];
  private readonly maxEntries: number;
  /** Catalog provider id → model → resolution (nested: no key string built per call). */
  private readonly resolutions = new Map<string, Map<string, Resolution>>();
  private resolutionCount = 0;
  private readonly overrideHits = new Map<string, CompiledOverride | null>();
  private readonly plans = new WeakMap<ModelPrice, PricePlan | null>();
  private readonly catalog = catalogVersion();

  constructor(options: PriceBookOptions = {}) {
    const compiled = (options.overrides ?? []).map((o) => ({
      source: o,
      provider: o.provider.trim().toLowerCase(),
      exact: o.model.includes('*') ? undefined : o.model.trim().toLowerCase(),
      pattern: o.model.includes('*') ? globToRegExp(o.model.trim()) : undefined,
    }));
    this.overrides = [
      ...compiled.filter((o) => o.exact !== undefined),
      ...compiled.filter((o) => o.exact === undefined),
    ];
    this.tiers = [...(options.tierMultipliers ?? []), ...DEFAULT_TIER_MULTIPLIERS];
    this.maxEntries = options.maxCacheEntries ?? 10_000;
  }

  /** Forget memoised resolutions (after swapping catalog data with `updatePrices`). */
  clearCache(): void {
    this.resolutions.clear();
    this.resolutionCount = 0;
    this.overrideHits.clear();
  }

  price(request: PriceRequest): PriceBookResult {
    const { usage } = request;
    const providerId = toCatalogProviderId(request.provider, request.canonicalProvider);
    const model = catalogModelId(request.model.trim());
    const reported = usage.providerCostUsd;
    const hasProviderCost = typeof reported === 'number' && Number.isFinite(reported) && reported >= 0;

    const estimate = this.estimate(request, providerId, model);
    if (hasProviderCost) {
      const result: PriceBookResult = {
        usd: reported,
        source: 'provider',
        catalog: this.catalog,
        catalogUsd: estimate.usd,
      };
      copyProvenance(estimate, result);
      return result;
    }
    return estimate;
  }

  /** Our own estimate: override, else catalog, else unpriced. */
  private estimate(request: PriceRequest, providerId: string | undefined, model: string): PriceBookResult {
    const { usage } = request;
    if (isImpossibleUsage(usage)) return this.unpriced(INVALID_USAGE);

    const override = this.findOverride(request, providerId, model);
    if (override !== undefined) {
      const priced = overrideCost(override.source, usage);
      if (typeof priced === 'string') {
        return {
          ...this.unpriced(priced),
          matchedProvider: override.source.provider,
          matchedModel: override.source.model,
        };
      }
      const result: PriceBookResult = {
        usd: priced,
        source: 'override',
        catalog: this.catalog,
        matchedProvider: override.source.provider,
        matchedModel: override.source.model,
      };
      return this.applyTier(result, request.modelTier, providerId ?? override.provider);
    }

    if (providerId === undefined) return this.unpriced('unknown_provider');
    const resolution = this.resolve(providerId, model);
    if (resolution.kind === 'unpriced') return this.unpriced(resolution.reason);

    const ts = Math.trunc(request.timestampMs);
    if (!Number.isFinite(ts) || Math.abs(ts) > 8.64e15) {
      return {
        ...this.unpriced('pricing_error'),
        matchedProvider: resolution.provider.id,
        matchedModel: resolution.model.id,
      };
    }
    const cu = toCatalogUsage(usage);
    const computed = this.compute(resolution, providerId, model, cu, ts);
    if (typeof computed === 'string') {
      return {
        ...this.unpriced(computed),
        matchedProvider: resolution.provider.id,
        matchedModel: resolution.model.id,
      };
    }
    if (computed.total_price === 0 && usage.inputTokens + usage.outputTokens > 0) {
      const missing = missingTokenRate(computed.model_price);
      if (missing !== undefined) {
        return {
          ...this.unpriced(missing),
          matchedProvider: resolution.provider.id,
          matchedModel: resolution.model.id,
        };
      }
    }
    const result: PriceBookResult = {
      usd: computed.total_price,
      source: 'catalog',
      catalog: this.catalog,
      matchedProvider: resolution.provider.id,
      matchedModel: resolution.model.id,
    };
    return this.applyTier(result, request.modelTier, resolution.provider.id);
  }

  private compute(
    resolution: Resolved,
    providerId: string,
    model: string,
    usage: CatalogUsage,
    ts: number,
  ): (PlanPrice & { model_price: ModelPrice }) | UnpricedReason {
    if (!resolution.rawOnly && planCovers(usage)) {
      const modelPrice = selectPrice(resolution.schedule, ts);
      if (modelPrice !== undefined) {
        let plan = this.plans.get(modelPrice);
        if (plan === undefined) {
          plan = buildPlan(modelPrice) ?? null;
          this.plans.set(modelPrice, plan);
        }
        if (plan !== null) {
          const fast = priceWithPlan(plan, usage);
          if (fast !== undefined) {
            return {
              input_price: fast.input_price,
              output_price: fast.output_price,
              total_price: fast.total_price,
              model_price: modelPrice,
            };
          }
        }
      }
    }
    try {
      const raw = calcPrice(usage, model, { providerId, timestamp: new Date(ts) });
      if (raw === null) return 'unknown_model';
      return raw;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      return /usage/i.test(message) ? INVALID_USAGE : 'pricing_error';
    }
  }

  private resolve(providerId: string, model: string): Resolution {
    let byModel = this.resolutions.get(providerId);
    const hit = byModel?.get(model);
    if (hit !== undefined) return hit;
    const resolution = resolveModel(providerId, model);
    if (this.resolutionCount >= this.maxEntries) {
      this.resolutions.clear();
      this.resolutionCount = 0;
      byModel = undefined;
    }
    if (byModel === undefined) this.resolutions.set(providerId, (byModel = new Map()));
    byModel.set(model, resolution);
    this.resolutionCount++;
    return resolution;
  }

  private findOverride(
    request: PriceRequest,
    providerId: string | undefined,
    model: string,
  ): CompiledOverride | undefined {
    if (this.overrides.length === 0) return undefined;
    const key = `${request.provider}\u0000${request.canonicalProvider ?? ''}\u0000${model}`;
    const hit = this.overrideHits.get(key);
    if (hit !== undefined) return hit ?? undefined;
    const fenra = request.provider.toLowerCase();
    const canonical = request.canonicalProvider?.trim().toLowerCase();
    const lower = model.toLowerCase();
    const found =
      this.overrides.find(
        (o) =>
          (o.provider === '*' ||
            o.provider === fenra ||
            o.provider === canonical ||
            o.provider === providerId) &&
          (o.exact !== undefined ? o.exact === lower : (o.pattern as RegExp).test(model)),
      ) ?? null;
    if (this.overrideHits.size >= this.maxEntries) this.overrideHits.clear();
    this.overrideHits.set(key, found);
    return found ?? undefined;
  }

  private applyTier(result: PriceBookResult, tier: string | undefined, providerId: string): PriceBookResult {
    const name = tier?.trim().toLowerCase() ?? '';
    if (STANDARD_TIERS.has(name)) return result;
    result.serviceTier = name;
    const rule = this.tiers.find((t) => t.tier === name && (t.provider === '*' || t.provider === providerId));
    if (rule === undefined) {
      result.tierMultiplier = 1;
      result.tierNote = 'unknown_tier_priced_standard';
      return result;
    }
    result.tierMultiplier = rule.multiplier;
    if (result.usd !== null) result.usd = result.usd * rule.multiplier;
    return result;
  }

  private unpriced(reason: UnpricedReason): PriceBookResult {
    return { usd: null, source: 'unpriced', reason, catalog: this.catalog };
  }
}

const TOKEN_PRICE_KEYS = ['input_mtok', 'output_mtok'];

/**
 * A model billed in units our usage never carries (e.g. Groq Whisper by audio hours) prices
 * any token usage at 0: report the missing rate instead of a false 0.
 */
function missingTokenRate(modelPrice: ModelPrice): UnpricedReason | undefined {
  if (TOKEN_PRICE_KEYS.some((k) => modelPrice[k] !== undefined)) return undefined;
  const first = Object.keys(modelPrice).find((k) => modelPrice[k] !== undefined) ?? 'unknown';
  return `missing_rate:${first}`;
}

function copyProvenance(from: PriceBookResult, to: PriceBookResult): void {
  if (from.matchedProvider !== undefined) to.matchedProvider = from.matchedProvider;
  if (from.matchedModel !== undefined) to.matchedModel = from.matchedModel;
  if (from.serviceTier !== undefined) to.serviceTier = from.serviceTier;
  if (from.tierMultiplier !== undefined) to.tierMultiplier = from.tierMultiplier;
  if (from.tierNote !== undefined) to.tierNote = from.tierNote;
}

const providerKnown = new Map<string, boolean>();

function resolveModel(providerId: string, model: string): Resolution {
  let known = providerKnown.get(providerId);
  if (known === undefined) {
    known = probeProvider(providerId);
    providerKnown.set(providerId, known);
  }
  if (!known) return { kind: 'unpriced', reason: 'unknown_provider' };
  try {
    const hit = calcPrice({ input_tokens: 0, output_tokens: 0 }, model, {
      providerId,
      timestamp: new Date(),
    });
    if (hit === null) return { kind: 'unpriced', reason: 'unknown_model' };
    const rawOnly = hit.provider.id === 'groq' && hit.model.id.startsWith('whisper-large-v3');
    return {
      kind: 'ok',
      provider: hit.provider,
      model: hit.model,
      schedule: compileSchedule(hit.model),
      rawOnly,
    };
  } catch {
    return { kind: 'unpriced', reason: 'pricing_error' };
  }
}

function probeProvider(providerId: string): boolean {
  try {
    return findProvider({ providerId }) !== undefined;
  } catch {
    return false;
  }
}

function overrideCost(o: PriceOverride, u: Usage): number | UnpricedReason {
  const cacheRead = u.cacheReadTokens ?? 0;
  const cacheWrite = u.cacheWriteTokens ?? 0;
  const plainInput = u.inputTokens - cacheRead - cacheWrite;
  const inputRate = o.inputPerMTok;
  const readRate = o.cacheReadPerMTok ?? inputRate;
  const writeRate = o.cacheWritePerMTok ?? inputRate;
  if (plainInput > 0 && inputRate === undefined) return 'missing_rate:input';
  if (cacheRead > 0 && readRate === undefined) return 'missing_rate:cache_read';
  if (cacheWrite > 0 && writeRate === undefined) return 'missing_rate:cache_write';
  if (u.outputTokens > 0 && o.outputPerMTok === undefined) return 'missing_rate:output';
  const micro =
    plainInput * (inputRate ?? 0) +
    cacheRead * (readRate ?? 0) +
    cacheWrite * (writeRate ?? 0) +
    u.outputTokens * (o.outputPerMTok ?? 0);
  return micro / 1e6;
}
