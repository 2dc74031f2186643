import type { ModelCall, Usage } from '../genai/types.js';
import type { PriceResult, Pricer } from './types.js';

/**
 * Prices one call at its span's end time; never throws (a pricer failure is an unpriced
 * result), and never reports a cost that is not a finite non-negative number.
 */
export function priceCall(pricer: Pricer, call: ModelCall & { model: string; usage: Usage }): PriceResult {
  try {
    const result = pricer.price({
      provider: call.provider.fenra,
      canonicalProvider: call.provider.canonical,
      model: call.model,
      usage: call.usage,
      modelTier: call.modelTier,
      timestampMs: call.span.endTimeMs,
    });
    // Absurd counts (1e308 tokens) can overflow a price: never report Infinity or NaN as a cost.
    if (result.usd !== null && !(Number.isFinite(result.usd) && result.usd >= 0)) {
      return { ...result, usd: null, source: 'unpriced', reason: 'invalid_usage' };
    }
    return result;
  } catch {
    return { usd: null, source: 'unpriced', reason: 'pricing_error', catalog: 'unknown' };
  }
}
