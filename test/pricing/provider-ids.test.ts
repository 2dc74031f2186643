import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { findProvider } from '@pydantic/genai-prices';
import { describe, expect, it } from 'vitest';
import type { FenraProvider } from '../../src/genai/types.js';
import { catalogVersion } from '../../src/pricing/catalog.js';
import { toCatalogUsage } from '../../src/pricing/catalog-usage.js';
import { toCatalogProviderId } from '../../src/pricing/provider-ids.js';

describe('toCatalogProviderId', () => {
  const table: [FenraProvider, string | undefined, string | undefined][] = [
    ['openai', 'openai', 'openai'],
    ['openai', 'azure.ai.openai', 'azure'],
    ['openai', 'az.ai.openai', 'azure'],
    ['custom', 'azure.ai.inference', 'azure'],
    ['bedrock', 'aws.bedrock', 'aws'],
    ['gemini', 'gcp.vertex_ai', 'google'],
    ['gemini', 'gcp.gemini', 'google'],
    ['gemini', 'gcp.gen_ai', 'google'],
    ['xai', 'x_ai', 'x-ai'],
    ['custom', 'mistral_ai', 'mistral'],
    ['custom', 'mistralai', 'mistral'],
    ['deepseek', 'deepseek', 'deepseek'],
    ['custom', 'groq', 'groq'],
    ['custom', 'cohere', 'cohere'],
    ['custom', 'perplexity', 'perplexity'],
    ['anthropic', 'anthropic', 'anthropic'],
    ['custom', 'ibm.watsonx.ai', undefined],
    ['custom', 'something.else', undefined],
    ['anthropic', 'something.else', 'anthropic'],
    ['bedrock', undefined, 'aws'],
    ['gemini', undefined, 'google'],
    ['xai', undefined, 'x-ai'],
  ];
  it.each(table)('%s / %s → %s', (fenra, canonical, expected) => {
    expect(toCatalogProviderId(fenra, canonical)).toBe(expected);
  });

  it('every mapped id is a provider id in the catalog', () => {
    for (const [fenra, canonical, expected] of table) {
      if (expected === undefined) continue;
      expect(findProvider({ providerId: toCatalogProviderId(fenra, canonical) as string })?.id).toBe(
        expected,
      );
    }
  });
});

describe('toCatalogUsage', () => {
  it('passes inclusive counts through and omits absent or zero parts', () => {
    expect(
      toCatalogUsage({
        inputTokens: 100,
        outputTokens: 50,
        totalTokens: 150,
        cacheReadTokens: 30,
        cacheWriteTokens: 0,
        reasoningTokens: 20,
        audioInputTokens: 5,
      }),
    ).toEqual({
      input_tokens: 100,
      output_tokens: 50,
      cache_read_tokens: 30,
      output_reasoning_tokens: 20,
      input_audio_tokens: 5,
    });
  });
});

describe('catalogVersion', () => {
  it('matches the installed @pydantic/genai-prices package.json', () => {
    const require = createRequire(import.meta.url);
    const entry = require.resolve('@pydantic/genai-prices');
    const pkg = JSON.parse(readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8')) as {
      version: string;
    };
    expect(catalogVersion()).toBe(`genai-prices@${pkg.version}`);
  });
});
