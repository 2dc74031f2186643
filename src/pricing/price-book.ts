import { catalogModelId, isImpossibleUsage, toCatalogUsage } from './catalog-usage.js';
import type { Resolution } from './catalog.js';
import { catalogPrice, catalogVersion, INVALID_USAGE, missingTokenRate, resolveModel } from './catalog.js';
import type { CompiledOverride } from './overrides.js';
import { compileOverrides, matchOverride, overrideCost } from './overrides.js';
import { toCatalogProviderId } from './provider-ids.js';
import type { TierMultiplier, TierProvenance } from './service-tiers.js';
import { applyTier, DEFAULT_TIER_MULTIPLIERS } from './service-tiers.js';
import type { PriceOverride, PriceRequest, PriceResult, Pricer, UnpricedReason } from './types.js';

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
export interface PriceBookResult extends PriceResult, TierProvenance {}

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
  private readonly catalog = catalogVersion();

  constructor(options: PriceBookOptions = {}) {
    this.overrides = compileOverrides(options.overrides ?? []);
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
    const computed = catalogPrice(resolution, providerId, model, cu, ts);
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
    const found = matchOverride(this.overrides, request, providerId, model) ?? null;
    if (this.overrideHits.size >= this.maxEntries) this.overrideHits.clear();
    this.overrideHits.set(key, found);
    return found ?? undefined;
  }

  private applyTier(result: PriceBookResult, tier: string | undefined, providerId: string): PriceBookResult {
    return applyTier(result, tier, providerId, this.tiers);
  }

  private unpriced(reason: UnpricedReason): PriceBookResult {
    return { usd: null, source: 'unpriced', reason, catalog: this.catalog };
  }
}

function copyProvenance(from: PriceBookResult, to: PriceBookResult): void {
  if (from.matchedProvider !== undefined) to.matchedProvider = from.matchedProvider;
  if (from.matchedModel !== undefined) to.matchedModel = from.matchedModel;
  if (from.serviceTier !== undefined) to.serviceTier = from.serviceTier;
  if (from.tierMultiplier !== undefined) to.tierMultiplier = from.tierMultiplier;
  if (from.tierNote !== undefined) to.tierNote = from.tierNote;
}
