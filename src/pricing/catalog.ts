import { createRequire } from 'node:module';
import type * as GenaiPrices from '@pydantic/genai-prices';
import type { ModelInfo, ModelPrice, Provider } from '@pydantic/genai-prices';
import { buildPlan, compileSchedule, planCovers, priceWithPlan, selectPrice } from './fast-price.js';
import type { CatalogUsage, PlanPrice, PricePlan, PriceSchedule } from './fast-price.js';
import type { UnpricedReason } from './types.js';

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

/**
 * The catalog, loaded at the first price asked for (synchronously: pricing is synchronous): an
 * application pays for it when it first bills a call, not at start-up.
 */
let catalog: typeof GenaiPrices | undefined;
function genaiPrices(): typeof GenaiPrices {
  return (catalog ??= createRequire(import.meta.url)('@pydantic/genai-prices') as typeof GenaiPrices);
}
const calcPrice: (typeof GenaiPrices)['calcPrice'] = (...args) => genaiPrices().calcPrice(...args);
const findProvider: (typeof GenaiPrices)['findProvider'] = (...args) => genaiPrices().findProvider(...args);

/** A (provider, model) the catalog knows, with its compiled price schedule. */
export interface Resolved {
  kind: 'ok';
  provider: Provider;
  model: ModelInfo;
  schedule: PriceSchedule;
  /** Groq Whisper has a per-call minimum that calcPrice applies itself: always ask calcPrice. */
  rawOnly: boolean;
}
export type Resolution = Resolved | { kind: 'unpriced'; reason: UnpricedReason };

export const INVALID_USAGE = 'invalid_usage' as const;

const plans = new WeakMap<ModelPrice, PricePlan | null>();

/**
 * The catalog price of `usage` at `ts` for a resolved model: computed from the matched model's
 * price data (`fast-price.ts`, exactly as `calcPrice`), else by `calcPrice` itself, always
 * wrapped (a throw becomes `invalid_usage` or `pricing_error`).
 */
export function catalogPrice(
  resolution: Resolved,
  providerId: string,
  model: string,
  usage: CatalogUsage,
  ts: number,
): (PlanPrice & { model_price: ModelPrice }) | UnpricedReason {
  if (!resolution.rawOnly && planCovers(usage)) {
    const modelPrice = selectPrice(resolution.schedule, ts);
    if (modelPrice !== undefined) {
      let plan = plans.get(modelPrice);
      if (plan === undefined) {
        plan = buildPlan(modelPrice) ?? null;
        plans.set(modelPrice, plan);
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

const TOKEN_PRICE_KEYS = ['input_mtok', 'output_mtok'];

/**
 * A model billed in units our usage never carries (e.g. Groq Whisper by audio hours) prices
 * any token usage at 0: report the missing rate instead of a false 0.
 */
export function missingTokenRate(modelPrice: ModelPrice): UnpricedReason | undefined {
  if (TOKEN_PRICE_KEYS.some((k) => modelPrice[k] !== undefined)) return undefined;
  const first = Object.keys(modelPrice).find((k) => modelPrice[k] !== undefined) ?? 'unknown';
  return `missing_rate:${first}`;
}

const providerKnown = new Map<string, boolean>();

/** What the catalog has for (provider, model): not memoised here (see PriceBook). */
export function resolveModel(providerId: string, model: string): Resolution {
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
