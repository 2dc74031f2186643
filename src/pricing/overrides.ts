import type { Usage } from '../genai/types.js';
import type { PriceOverride, PriceRequest, UnpricedReason } from './types.js';

/** An override ready for matching: lower-cased provider, exact model or glob. */
export interface CompiledOverride {
  source: PriceOverride;
  provider: string;
  exact: string | undefined;
  pattern: RegExp | undefined;
}

/** Compiles overrides: exact model ids first, then globs, each in the order given. */
export function compileOverrides(list: readonly PriceOverride[]): CompiledOverride[] {
  const compiled = list.map((o) => ({
    source: o,
    provider: o.provider.trim().toLowerCase(),
    exact: o.model.includes('*') ? undefined : o.model.trim().toLowerCase(),
    pattern: o.model.includes('*') ? globToRegExp(o.model.trim()) : undefined,
  }));
  return [...compiled.filter((o) => o.exact !== undefined), ...compiled.filter((o) => o.exact === undefined)];
}

/** The first override for the request's provider (any spelling, or `*`) and model. */
export function matchOverride(
  overrides: readonly CompiledOverride[],
  request: PriceRequest,
  providerId: string | undefined,
  model: string,
): CompiledOverride | undefined {
  const fenra = request.provider.toLowerCase();
  const canonical = request.canonicalProvider?.trim().toLowerCase();
  const lower = model.toLowerCase();
  return overrides.find(
    (o) =>
      (o.provider === '*' || o.provider === fenra || o.provider === canonical || o.provider === providerId) &&
      (o.exact !== undefined ? o.exact === lower : (o.pattern as RegExp).test(model)),
  );
}

function globToRegExp(glob: string): RegExp {
  const body = glob
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`, 'i');
}

/** The cost under an override's rates (USD), or the rate it lacks for this usage. */
export function overrideCost(o: PriceOverride, u: Usage): number | UnpricedReason {
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
