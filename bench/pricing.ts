/**
 * Cost of pricing one call: raw `calcPrice` (provider + model matching and unit decomposition
 * on every call) against `PriceBook` (memoised resolution + precompiled price plan), on the
 * same inputs in the same run, after a warm-up. Asserts identical results.
 * Run: npx tsx bench/pricing.ts
 */
import { pathToFileURL } from 'node:url';
import { calcPrice } from '@pydantic/genai-prices';
import type { FenraProvider, Usage } from '../src/genai/types.js';
import { toCatalogUsage } from '../src/pricing/catalog-usage.js';
import { PriceBook } from '../src/pricing/price-book.js';
import { toCatalogProviderId } from '../src/pricing/provider-ids.js';
import type { PriceRequest } from '../src/pricing/types.js';

/** A realistic mix, weighted like production traffic; the last entries are unknown. */
const MIX: [FenraProvider, string, string, number][] = [
  ['openai', 'openai', 'gpt-4o-mini-2024-07-18', 20],
  ['openai', 'openai', 'gpt-4o-2024-08-06', 10],
  ['openai', 'openai', 'gpt-4.1-mini', 8],
  ['openai', 'openai', 'o3', 4],
  ['openai', 'azure.ai.openai', 'gpt-4o', 4],
  ['anthropic', 'anthropic', 'claude-sonnet-4-5', 12],
  ['anthropic', 'anthropic', 'claude-3-5-haiku-20241022', 6],
  ['gemini', 'gcp.gemini', 'gemini-2.5-flash', 10],
  ['gemini', 'gcp.gemini', 'gemini-2.5-pro', 4],
  ['gemini', 'gcp.vertex_ai', 'claude-sonnet-4@20250514', 2],
  ['bedrock', 'aws.bedrock', 'us.anthropic.claude-sonnet-4-20250514-v1:0', 6],
  ['bedrock', 'aws.bedrock', 'global.anthropic.claude-sonnet-4-5-20250929-v1:0', 3],
  ['bedrock', 'aws.bedrock', 'amazon.nova-pro-v1:0', 2],
  ['deepseek', 'deepseek', 'deepseek-chat', 3],
  ['xai', 'x_ai', 'grok-4', 2],
  ['openai', 'openai', 'ft:gpt-4o-mini:acme::abc123', 2],
  ['custom', 'acme.llm', 'house-model-7b', 2],
];

function makeRequests(count: number): PriceRequest[] {
  let seed = 42;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const weighted = MIX.flatMap((m) => Array.from({ length: m[3] }, () => m));
  const out: PriceRequest[] = [];
  for (let i = 0; i < count; i++) {
    const [provider, canonical, model] = weighted[
      Math.floor(rnd() * weighted.length)
    ] as (typeof MIX)[number];
    const input = rnd() < 0.05 ? 150_000 + Math.floor(rnd() * 100_000) : Math.floor(rnd() * 20_000);
    const cacheRead = rnd() < 0.4 ? Math.floor(input * rnd() * 0.8) : 0;
    const output = Math.floor(rnd() * 2_000);
    const usage: Usage = {
      inputTokens: input,
      outputTokens: output,
      totalTokens: input + output,
      cacheReadTokens: cacheRead,
      reasoningTokens: rnd() < 0.2 ? Math.floor(output / 2) : undefined,
    };
    const timestampMs = Date.UTC(2025, 0, 1) + Math.floor(rnd() * 300 * 86_400_000);
    out.push({ provider, canonicalProvider: canonical, model, usage, timestampMs });
  }
  return out;
}

function rawPrice(r: PriceRequest): number | null {
  const providerId = toCatalogProviderId(r.provider, r.canonicalProvider);
  if (providerId === undefined) return null;
  try {
    return (
      calcPrice(toCatalogUsage(r.usage), r.model, { providerId, timestamp: new Date(r.timestampMs) })
        ?.total_price ?? null
    );
  } catch {
    return null;
  }
}

function timeUs(fn: () => void, calls: number): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1000 / calls;
}

export async function benchPricing(): Promise<{
  pricing_speedup: number;
  raw_us_per_call: number;
  book_us_per_call: number;
}> {
  const requests = makeRequests(20_000);
  const book = new PriceBook();

  // Identical results first (this also warms the memo).
  for (const r of requests) {
    const raw = rawPrice(r);
    const got = book.price(r).usd;
    if (got !== raw) {
      throw new Error(`PriceBook differs from calcPrice for ${r.model}: ${String(got)} vs ${String(raw)}`);
    }
  }

  let sink = 0;
  const runRaw = () => {
    for (const r of requests) sink += rawPrice(r) ?? 0;
  };
  const runBook = () => {
    for (const r of requests) sink += book.price(r).usd ?? 0;
  };
  runRaw();
  runBook();
  const rounds = 5;
  let raw = Infinity;
  let fast = Infinity;
  for (let i = 0; i < rounds; i++) {
    raw = Math.min(raw, timeUs(runRaw, requests.length));
    fast = Math.min(fast, timeUs(runBook, requests.length));
  }
  if (!Number.isFinite(sink)) throw new Error('unreachable');
  return {
    pricing_speedup: Math.round((raw / fast) * 10) / 10,
    raw_us_per_call: Math.round(raw * 100) / 100,
    book_us_per_call: Math.round(fast * 100) / 100,
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const r = await benchPricing();
  console.table({
    'raw calcPrice': { 'µs/call': r.raw_us_per_call },
    PriceBook: { 'µs/call': r.book_us_per_call },
  });
  console.log(`speedup ×${r.pricing_speedup} (identical results on 20,000 calls)`);
}
