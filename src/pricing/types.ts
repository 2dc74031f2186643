import type { FenraProvider, Usage } from '../genai/types.js';

export type PriceSource = 'catalog' | 'override' | 'provider' | 'unpriced';

/** Why a transaction has no local price. Never 0 to mean "unknown". */
export type UnpricedReason =
  | 'unknown_provider'
  | 'unknown_model'
  | 'missing_tokens'
  | 'invalid_usage'
  | `missing_rate:${string}`
  | 'pricing_error';

export interface PriceResult {
  /** Estimated cost in USD; null when unpriced. */
  usd: number | null;
  source: PriceSource;
  reason?: UnpricedReason;
  /** e.g. `genai-prices@0.1.8`. */
  catalog: string;
  /** What the catalog matched, for provenance (e.g. `openai` / `gpt-4o`). */
  matchedProvider?: string;
  matchedModel?: string;
  /** When source is `provider`, our own catalog estimate beside it, for comparison. */
  catalogUsd?: number | null;
}

/** What the price book needs to price one call. */
export interface PriceRequest {
  provider: FenraProvider;
  /** Canonical OTel provider id (`azure.ai.openai`, `aws.bedrock`, `gcp.vertex_ai`, ...) if known. */
  canonicalProvider: string | undefined;
  model: string;
  usage: Usage;
  modelTier?: string | undefined;
  /** Epoch ms of the call (span end): prices at event time. */
  timestampMs: number;
}

export interface PriceOverride {
  /** Fenra provider or canonical provider id; `*` for any. */
  provider: string;
  /** Exact model id, or a glob with `*`. */
  model: string;
  /** USD per million tokens. */
  inputPerMTok?: number;
  outputPerMTok?: number;
  cacheReadPerMTok?: number;
  cacheWritePerMTok?: number;
}

export interface Pricer {
  price(request: PriceRequest): PriceResult;
}
