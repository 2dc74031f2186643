import { calcPrice } from '@pydantic/genai-prices';
import { describe, expect, it } from 'vitest';
import type { FenraProvider, Usage } from '../../src/genai/types.js';
import { catalogVersion } from '../../src/pricing/catalog.js';
import { toCatalogUsage } from '../../src/pricing/catalog-usage.js';
import { PriceBook } from '../../src/pricing/price-book.js';
import type { PriceBookOptions } from '../../src/pricing/price-book.js';
import { toCatalogProviderId } from '../../src/pricing/provider-ids.js';
import type { PriceRequest } from '../../src/pricing/types.js';

const T_2025_10 = Date.UTC(2025, 9, 1, 12);
const M = 1e6;

function usage(input: number, output: number, extra: Partial<Usage> = {}): Usage {
  return { inputTokens: input, outputTokens: output, totalTokens: input + output, ...extra };
}

function req(
  provider: FenraProvider,
  canonical: string | undefined,
  model: string,
  u: Usage,
  timestampMs = T_2025_10,
  modelTier?: string,
): PriceRequest {
  return { provider, canonicalProvider: canonical, model, usage: u, timestampMs, modelTier };
}

function priceWith(r: PriceRequest, options?: PriceBookOptions) {
  return new PriceBook(options).price(r);
}

describe('PriceBook: catalog prices (expected values from published per-million rates)', () => {
  it('gpt-4o snapshot id resolves to gpt-4o at $2.50 / $10, cached input $1.25', () => {
    const r = priceWith(
      req('openai', 'openai', 'gpt-4o-2024-08-06', usage(10_000, 2_000, { cacheReadTokens: 4_000 })),
    );
    expect(r.source).toBe('catalog');
    expect(r.matchedProvider).toBe('openai');
    expect(r.matchedModel).toBe('gpt-4o');
    expect(r.catalog).toBe(catalogVersion());
    expect(r.usd).toBeCloseTo((6_000 * 2.5 + 4_000 * 1.25 + 2_000 * 10) / M, 12);
  });

  it('gpt-4o-mini at $0.15 / $0.60', () => {
    const r = priceWith(req('openai', 'openai', 'gpt-4o-mini-2024-07-18', usage(100_000, 50_000)));
    expect(r.matchedModel).toBe('gpt-4o-mini');
    expect(r.usd).toBeCloseTo((100_000 * 0.15 + 50_000 * 0.6) / M, 12);
  });

  it('o3 is priced at the call time: $10/$40 before 2025-06-10, $2/$8 from then', () => {
    const u = usage(1_000, 100);
    const before = priceWith(req('openai', 'openai', 'o3', u, Date.UTC(2025, 4, 1)));
    const lastMs = priceWith(req('openai', 'openai', 'o3', u, Date.UTC(2025, 5, 10) - 1));
    const after = priceWith(req('openai', 'openai', 'o3', u, Date.UTC(2025, 5, 10)));
    expect(before.usd).toBeCloseTo((1_000 * 10 + 100 * 40) / M, 12);
    expect(lastMs.usd).toBeCloseTo((1_000 * 10 + 100 * 40) / M, 12);
    expect(after.usd).toBeCloseTo((1_000 * 2 + 100 * 8) / M, 12);
  });

  it('claude-sonnet-4-5: whole-request cliff above 200,000 input tokens', () => {
    const at = (input: number) =>
      priceWith(req('anthropic', 'anthropic', 'claude-sonnet-4-5', usage(input, 1_000))).usd;
    expect(at(199_999)).toBeCloseTo((199_999 * 3 + 1_000 * 15) / M, 12);
    expect(at(200_000)).toBeCloseTo((200_000 * 3 + 1_000 * 15) / M, 12);
    expect(at(200_001)).toBeCloseTo((200_001 * 6 + 1_000 * 22.5) / M, 12);
  });

  it('Anthropic cache read and write (inclusive input; 5m write $3.75, 1h write $6, read $0.30)', () => {
    const u = usage(10_000, 500, {
      cacheReadTokens: 6_000,
      cacheWriteTokens: 3_000,
      cacheWrite1hTokens: 1_000,
    });
    const r = priceWith(req('anthropic', 'anthropic', 'claude-sonnet-4-5', u));
    const expected = (1_000 * 3 + 6_000 * 0.3 + 2_000 * 3.75 + 1_000 * 6 + 500 * 15) / M;
    expect(r.usd).toBeCloseTo(expected, 12);
  });

  it('Bedrock keeps geo prefixes: us. → regional (+10%), global. → global', () => {
    const u = usage(100_000, 10_000);
    const us = priceWith(req('bedrock', 'aws.bedrock', 'us.anthropic.claude-sonnet-4-5-20250929-v1:0', u));
    const glob = priceWith(
      req('bedrock', 'aws.bedrock', 'global.anthropic.claude-sonnet-4-5-20250929-v1:0', u),
    );
    expect(us.matchedProvider).toBe('aws');
    expect(us.matchedModel).toMatch(/^regional\./);
    expect(glob.matchedModel).toMatch(/^global\./);
    expect(us.usd).toBeCloseTo((100_000 * 3.3 + 10_000 * 16.5) / M, 12);
    expect(glob.usd).toBeCloseTo((100_000 * 3 + 10_000 * 15) / M, 12);
  });

  it('Vertex AI Claude (claude-sonnet-4@20250514) → google/claude-4-sonnet at $3 / $15', () => {
    const r = priceWith(req('gemini', 'gcp.vertex_ai', 'claude-sonnet-4@20250514', usage(20_000, 1_000)));
    expect(r.matchedProvider).toBe('google');
    expect(r.matchedModel).toBe('claude-4-sonnet');
    expect(r.usd).toBeCloseTo((20_000 * 3 + 1_000 * 15) / M, 12);
  });

  it('gemini-2.5-pro: $1.25/$10 up to 200k input, $2.50/$15 above; Vertex resource path stripped', () => {
    const at = (input: number, model = 'gemini-2.5-pro') =>
      priceWith(req('gemini', 'gcp.gemini', model, usage(input, 2_000))).usd;
    expect(at(200_000)).toBeCloseTo((200_000 * 1.25 + 2_000 * 10) / M, 12);
    expect(at(200_001)).toBeCloseTo((200_001 * 2.5 + 2_000 * 15) / M, 12);
    expect(
      at(250_000, 'projects/p/locations/us-central1/publishers/google/models/gemini-2.5-pro'),
    ).toBeCloseTo((250_000 * 2.5 + 2_000 * 15) / M, 12);
  });

  it('DeepSeek: standard 00:30–16:30 UTC, off-peak otherwise', () => {
    const u = usage(1_000_000, 100_000, { cacheReadTokens: 400_000 });
    const day = Date.UTC(2025, 7, 1);
    const at = (ms: number) => priceWith(req('deepseek', 'deepseek', 'deepseek-chat', u, day + ms)).usd;
    const standard = (600_000 * 0.27 + 400_000 * 0.07 + 100_000 * 1.1) / M;
    const offPeak = (600_000 * 0.135 + 400_000 * 0.035 + 100_000 * 0.55) / M;
    expect(at(10 * 3600_000)).toBeCloseTo(standard, 12);
    expect(at(18 * 3600_000)).toBeCloseTo(offPeak, 12);
    expect(at(16.5 * 3600_000 - 1)).toBeCloseTo(standard, 12);
    expect(at(16.5 * 3600_000)).toBeCloseTo(offPeak, 12);
  });

  it('xAI via x_ai: grok-4 at $3 / $15, cached $0.75', () => {
    const r = priceWith(req('xai', 'x_ai', 'grok-4', usage(10_000, 1_000, { cacheReadTokens: 2_000 })));
    expect(r.matchedProvider).toBe('x-ai');
    expect(r.usd).toBeCloseTo((8_000 * 3 + 2_000 * 0.75 + 1_000 * 15) / M, 12);
  });

  it('Azure OpenAI is priced from the catalog azure provider, not openai', () => {
    const r = priceWith(req('openai', 'azure.ai.openai', 'gpt-4.1', usage(10_000, 1_000)));
    expect(r.matchedProvider).toBe('azure');
    expect(r.usd).toBeCloseTo((10_000 * 2 + 1_000 * 8) / M, 12);
  });
});

describe('PriceBook: never 0 for unknown', () => {
  it('unknown model → unpriced unknown_model', () => {
    const r = priceWith(req('openai', 'openai', 'my-fine-tune-xyz', usage(100, 10)));
    expect(r).toMatchObject({ usd: null, source: 'unpriced', reason: 'unknown_model' });
  });

  it('unknown provider → unpriced unknown_provider (custom, watsonx)', () => {
    expect(priceWith(req('custom', 'acme.llm', 'gpt-4o', usage(100, 10)))).toMatchObject({
      usd: null,
      source: 'unpriced',
      reason: 'unknown_provider',
    });
    expect(priceWith(req('custom', 'ibm.watsonx.ai', 'granite-3', usage(100, 10))).reason).toBe(
      'unknown_provider',
    );
  });

  it('cache read + write above input → invalid_usage, no throw', () => {
    const u = usage(1_000, 10, { cacheReadTokens: 800, cacheWriteTokens: 300 });
    expect(priceWith(req('anthropic', 'anthropic', 'claude-sonnet-4-5', u))).toMatchObject({
      usd: null,
      source: 'unpriced',
      reason: 'invalid_usage',
    });
    const negative = usage(-5, 10);
    expect(priceWith(req('openai', 'openai', 'gpt-4o', negative)).reason).toBe('invalid_usage');
    expect(priceWith(req('openai', 'openai', 'gpt-4o', usage(Number.NaN, 1))).reason).toBe('invalid_usage');
  });

  it('usage calcPrice rejects (cached audio with no audio-cache split) → invalid_usage, no throw', () => {
    const u = usage(10_000, 100, { cacheReadTokens: 2_000, audioInputTokens: 1_000 });
    const model = 'gpt-4o-realtime-preview';
    expect(() =>
      calcPrice(toCatalogUsage(u), model, { providerId: 'openai', timestamp: new Date(T_2025_10) }),
    ).toThrow();
    expect(priceWith(req('openai', 'openai', model, u)).reason).toBe('invalid_usage');
  });

  it('a model billed per audio hour is not priced at 0 from tokens', () => {
    const r = priceWith(req('custom', 'groq', 'whisper-large-v3', usage(1_000, 100)));
    expect(r.usd).toBeNull();
    expect(r.reason).toBe('missing_rate:audio_hours');
  });
});

describe('PriceBook: overrides, provider cost, tiers', () => {
  const overrides: PriceBookOptions['overrides'] = [
    { provider: 'openai', model: 'gpt-4o*', inputPerMTok: 1, outputPerMTok: 2 },
    {
      provider: 'openai',
      model: 'gpt-4o-mini',
      inputPerMTok: 0.1,
      outputPerMTok: 0.2,
      cacheReadPerMTok: 0.05,
    },
    { provider: '*', model: 'granite-*', inputPerMTok: 0.5, outputPerMTok: 1.5 },
    { provider: 'anthropic', model: 'claude-input-only', inputPerMTok: 1 },
  ];

  it('exact override wins over a glob listed first, and over the catalog', () => {
    const r = priceWith(
      req('openai', 'openai', 'gpt-4o-mini', usage(10_000, 1_000, { cacheReadTokens: 4_000 })),
      {
        overrides,
      },
    );
    expect(r.source).toBe('override');
    expect(r.matchedModel).toBe('gpt-4o-mini');
    expect(r.usd).toBeCloseTo((6_000 * 0.1 + 4_000 * 0.05 + 1_000 * 0.2) / M, 12);
  });

  it('glob override matches case-insensitively; cache read falls back to the input rate', () => {
    const r = priceWith(
      req('openai', 'openai', 'GPT-4o-2024-08-06', usage(10_000, 1_000, { cacheReadTokens: 4_000 })),
      {
        overrides,
      },
    );
    expect(r.source).toBe('override');
    expect(r.usd).toBeCloseTo((10_000 * 1 + 1_000 * 2) / M, 12);
  });

  it('override prices a provider the catalog lacks; provider must match', () => {
    expect(
      priceWith(req('custom', 'ibm.watsonx.ai', 'granite-3-8b', usage(2_000, 1_000)), { overrides }).usd,
    ).toBeCloseTo((2_000 * 0.5 + 1_000 * 1.5) / M, 12);
    expect(priceWith(req('anthropic', 'anthropic', 'gpt-4o', usage(1, 1)), { overrides }).source).toBe(
      'unpriced',
    );
    const azure = priceWith(req('openai', 'azure.ai.openai', 'my-deployment', usage(1_000_000, 0)), {
      overrides: [{ provider: 'azure', model: 'my-deployment', inputPerMTok: 2.2, outputPerMTok: 8.8 }],
    });
    expect(azure).toMatchObject({ source: 'override', usd: 2.2 });
  });

  it('override without an output rate → missing_rate:output', () => {
    const r = priceWith(req('anthropic', 'anthropic', 'claude-input-only', usage(1_000, 10)), { overrides });
    expect(r).toMatchObject({ usd: null, source: 'unpriced', reason: 'missing_rate:output' });
  });

  it('provider-reported cost wins; our estimate stays in catalogUsd', () => {
    const r = priceWith(req('openai', 'openai', 'gpt-4o', usage(10_000, 1_000, { providerCostUsd: 0.0421 })));
    expect(r.source).toBe('provider');
    expect(r.usd).toBe(0.0421);
    expect(r.catalogUsd).toBeCloseTo((10_000 * 2.5 + 1_000 * 10) / M, 12);
    expect(r.matchedModel).toBe('gpt-4o');
    const unknown = priceWith(
      req('custom', 'openrouter', 'nobody/nothing', usage(5, 5, { providerCostUsd: 0.01 })),
    );
    expect(unknown).toMatchObject({ usd: 0.01, source: 'provider', catalogUsd: null });
  });

  it('OpenAI batch and flex at 50%, default is standard, priority priced standard and flagged', () => {
    const u = usage(10_000, 1_000);
    const standard = (10_000 * 2.5 + 1_000 * 10) / M;
    const batch = priceWith(req('openai', 'openai', 'gpt-4o', u, T_2025_10, 'batch'));
    expect(batch.usd).toBeCloseTo(standard * 0.5, 12);
    expect(batch).toMatchObject({ serviceTier: 'batch', tierMultiplier: 0.5 });
    expect(priceWith(req('openai', 'openai', 'gpt-4o', u, T_2025_10, 'flex')).usd).toBeCloseTo(
      standard * 0.5,
      12,
    );
    const def = priceWith(req('openai', 'openai', 'gpt-4o', u, T_2025_10, 'default'));
    expect(def.usd).toBeCloseTo(standard, 12);
    expect(def.serviceTier).toBeUndefined();
    const prio = priceWith(req('openai', 'openai', 'gpt-4o', u, T_2025_10, 'priority'));
    expect(prio.usd).toBeCloseTo(standard, 12);
    expect(prio).toMatchObject({
      serviceTier: 'priority',
      tierMultiplier: 1,
      tierNote: 'unknown_tier_priced_standard',
    });
  });

  it('tier multipliers are configurable per provider', () => {
    const r = priceWith(req('openai', 'openai', 'gpt-4o', usage(10_000, 1_000), T_2025_10, 'priority'), {
      tierMultipliers: [{ provider: 'openai', tier: 'priority', multiplier: 1.7 }],
    });
    expect(r.usd).toBeCloseTo(((10_000 * 2.5 + 1_000 * 10) / M) * 1.7, 12);
    expect(r.tierNote).toBeUndefined();
  });
});

describe('PriceBook memoised path equals raw calcPrice', () => {
  const models: [FenraProvider, string, string][] = [
    ['openai', 'openai', 'gpt-4o-2024-08-06'],
    ['openai', 'openai', 'gpt-4o-mini'],
    ['openai', 'openai', 'o3'],
    ['openai', 'openai', 'gpt-4o-audio-preview'],
    ['openai', 'openai', 'gpt-image-1'],
    ['openai', 'azure.ai.openai', 'gpt-4.1'],
    ['anthropic', 'anthropic', 'claude-sonnet-4-5'],
    ['anthropic', 'anthropic', 'claude-opus-4-1'],
    ['bedrock', 'aws.bedrock', 'us.anthropic.claude-sonnet-4-5-20250929-v1:0'],
    ['bedrock', 'aws.bedrock', 'global.anthropic.claude-sonnet-4-20250514-v1:0'],
    ['gemini', 'gcp.vertex_ai', 'claude-sonnet-4@20250514'],
    ['gemini', 'gcp.gemini', 'gemini-2.5-pro'],
    ['gemini', 'gcp.gemini', 'gemini-2.5-flash'],
    ['deepseek', 'deepseek', 'deepseek-chat'],
    ['xai', 'x_ai', 'grok-4'],
    ['custom', 'mistral_ai', 'mistral-large-latest'],
  ];

  // Deterministic PRNG so a failure is reproducible.
  let seed = 12345;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const int = (max: number) => Math.floor(rnd() * max);

  it('identical usd for 4,000 random (model, usage, timestamp) triples', () => {
    const book = new PriceBook();
    let compared = 0;
    let raised = 0;
    for (let i = 0; i < 4_000; i++) {
      const [p, c, m] = models[i % models.length] as [FenraProvider, string, string];
      // Around the 200k cliff half the time.
      const input = rnd() < 0.5 ? 199_990 + int(20) : int(400_000);
      const cacheRead = rnd() < 0.5 ? int(input / 2) : 0;
      const cacheWrite = rnd() < 0.3 ? int(input - cacheRead) : 0;
      const output = int(30_000);
      const u = usage(input, output, {
        cacheReadTokens: cacheRead,
        cacheWriteTokens: cacheWrite,
        cacheWrite1hTokens: rnd() < 0.2 ? int(cacheWrite) : undefined,
        audioInputTokens: rnd() < 0.1 ? int(input / 10) : undefined,
        reasoningTokens: rnd() < 0.3 ? int(output) : undefined,
        imageOutputTokens: rnd() < 0.05 ? int(output) : undefined,
      });
      const ts = Date.UTC(2024, 0, 1) + int(700 * 86_400_000);
      const got = book.price(req(p, c, m, u, ts));
      let raw: number | null;
      try {
        raw =
          calcPrice(toCatalogUsage(u), m, { providerId: toCatalogProviderId(p, c), timestamp: new Date(ts) })
            ?.total_price ?? null;
      } catch {
        raised++;
        expect(got.usd).toBeNull();
        continue;
      }
      compared++;
      expect(got.usd).toBe(raw);
    }
    expect(compared).toBeGreaterThan(3_500);
    expect(raised).toBeGreaterThan(0);
  });

  it('a repeated call returns the same result as the first (memo is not stale across timestamps)', () => {
    const book = new PriceBook();
    const u = usage(1_000, 100);
    const a = book.price(req('openai', 'openai', 'o3', u, Date.UTC(2025, 4, 1)));
    const b = book.price(req('openai', 'openai', 'o3', u, Date.UTC(2025, 6, 1)));
    const a2 = book.price(req('openai', 'openai', 'o3', u, Date.UTC(2025, 4, 1)));
    expect(a.usd).toBe(a2.usd);
    expect(b.usd).not.toBe(a.usd);
  });
});
