/**
 * What each dialect's numbers mean, tested where the run-time check cannot rescue a wrong table:
 * the uncached input is LARGER than the cache (and the reasoning smaller than the rest of the
 * output), so "a part larger than its total" never fires and only the dialect's own rule
 * decides. A wrong inclusive/exclusive entry fails these.
 */
import { describe, expect, it } from 'vitest';
import { detectModelCall } from '../../src/genai/detect.js';
import type { Detection } from '../../src/genai/detect.js';
import type { Usage } from '../../src/genai/types.js';
import type { Attributes, SpanView } from '../../src/span/span-view.js';
import { makeSpan } from '../helpers/span.js';

function usageOf(d: Detection): Usage {
  if (!('call' in d)) throw new Error(`expected a model call, got ${d.skipped.reason} (${d.skipped.detail})`);
  return d.call.usage!;
}
const detect = (a: Attributes, over: Partial<Omit<SpanView, 'attributes'>> = {}): Usage =>
  usageOf(detectModelCall(makeSpan(a, over)));

const anthropicChat = {
  'gen_ai.operation.name': 'chat',
  'gen_ai.provider.name': 'anthropic',
  'gen_ai.request.model': 'claude-sonnet-4-5',
};

describe('input with or without cache, when the cache is the smaller part', () => {
  it('Anthropic SDK tracing: input includes the cache', () => {
    const u = detect(
      {
        ...anthropicChat,
        'gen_ai.usage.input_tokens': 5000,
        'gen_ai.usage.output_tokens': 20,
        'gen_ai.usage.cache_read.input_tokens': 2000,
        'gen_ai.usage.cache_write.input_tokens': 500,
      },
      { scope: { name: 'com.anthropic.sdk.typescript' } },
    );
    expect(u).toMatchObject({ inputTokens: 5000, cacheReadTokens: 2000, cacheWriteTokens: 500 });
    expect(u.anomalies).toBeUndefined();
  });

  it('OpenLIT Anthropic: input excludes the cache', () => {
    const u = detect({
      ...anthropicChat,
      'telemetry.sdk.name': 'openlit',
      'gen_ai.usage.input_tokens': 5000,
      'gen_ai.usage.output_tokens': 20,
      'gen_ai.usage.cache_read.input_tokens': 2000,
      'gen_ai.usage.cache_creation.input_tokens': 500,
    });
    expect(u.inputTokens).toBe(7500);
  });

  it('OpenLLMetry JS Anthropic 0.27 (released): input excludes the cache', () => {
    const u = detect(
      {
        ...anthropicChat,
        'gen_ai.usage.input_tokens': 5000,
        'gen_ai.usage.output_tokens': 20,
        'gen_ai.usage.cache_read.input_tokens': 2000,
      },
      { scope: { name: '@traceloop/instrumentation-anthropic', version: '0.27.0' } },
    );
    expect(u.inputTokens).toBe(7000);
  });

  it('OpenLLMetry JS Anthropic after 0.27 (folds the cache, by its source): input includes it', () => {
    const u = detect(
      {
        ...anthropicChat,
        'gen_ai.usage.input_tokens': 5000,
        'gen_ai.usage.output_tokens': 20,
        'gen_ai.usage.cache_read.input_tokens': 2000,
      },
      { scope: { name: '@traceloop/instrumentation-anthropic', version: '0.28.1' } },
    );
    expect(u.inputTokens).toBe(5000);
  });

  it('OpenLLMetry Python Bedrock Converse: input excludes the cache', () => {
    const u = detect(
      {
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': 'aws.bedrock',
        'gen_ai.request.model': 'anthropic.claude-3-haiku-20240307-v1:0',
        'gen_ai.usage.input_tokens': 5000,
        'gen_ai.usage.output_tokens': 5,
        'gen_ai.usage.cache_read.input_tokens': 2000,
      },
      { scope: { name: 'opentelemetry.instrumentation.bedrock' } },
    );
    expect(u.inputTokens).toBe(7000);
  });

  it('OTel semconv (OpenAI): input includes the cache', () => {
    const u = detect({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.usage.input_tokens': 5000,
      'gen_ai.usage.output_tokens': 50,
      'gen_ai.usage.cache_read.input_tokens': 2000,
      'gen_ai.usage.reasoning.output_tokens': 20,
    });
    expect(u).toMatchObject({ inputTokens: 5000, outputTokens: 50 });
  });
});

describe('AI SDK 5 without the provider raw usage in providerMetadata', () => {
  const v5 = (provider: string, model: string, extra: Attributes): Attributes => ({
    'ai.operationId': 'ai.streamText.doStream',
    'ai.model.provider': provider,
    'ai.model.id': model,
    'gen_ai.system': provider,
    'gen_ai.request.model': model,
    ...extra,
  });

  it('Amazon Bedrock: input excludes cache reads (cachedInputTokens) and writes (providerMetadata)', () => {
    const u = detect(
      v5('amazon-bedrock', 'us.anthropic.claude-sonnet-4-20250514-v1:0', {
        'ai.usage.inputTokens': 5000,
        'ai.usage.outputTokens': 40,
        'ai.usage.cachedInputTokens': 2000,
        'ai.response.providerMetadata': JSON.stringify({
          bedrock: { usage: { cacheWriteInputTokens: 500 } },
        }),
      }),
    );
    expect(u).toMatchObject({ inputTokens: 7500, cacheReadTokens: 2000, cacheWriteTokens: 500 });
  });

  it('Anthropic: input excludes the cache', () => {
    const u = detect(
      v5('anthropic.messages', 'claude-sonnet-4-5', {
        'ai.usage.inputTokens': 5000,
        'ai.usage.outputTokens': 40,
        'ai.usage.cachedInputTokens': 2000,
        'ai.response.providerMetadata': JSON.stringify({ anthropic: { cacheCreationInputTokens: 500 } }),
      }),
    );
    expect(u).toMatchObject({ inputTokens: 7500, cacheReadTokens: 2000, cacheWriteTokens: 500 });
  });

  it('Google: output excludes the thinking tokens', () => {
    const u = detect(
      v5('google.generative-ai', 'gemini-2.5-flash', {
        'ai.usage.inputTokens': 800,
        'ai.usage.outputTokens': 500,
        'ai.usage.reasoningTokens': 300,
      }),
    );
    expect(u).toMatchObject({ inputTokens: 800, outputTokens: 800, reasoningTokens: 300 });
  });

  it('a user-agent of ai/5 decides even with detail attributes absent; ai/6 reads inclusive', () => {
    const attrs = (ua: string): Attributes =>
      v5('anthropic.messages', 'claude-sonnet-4-5', {
        'ai.operationId': 'ai.generateText.doGenerate',
        'ai.request.headers.user-agent': ua,
        'ai.usage.promptTokens': 5000,
        'ai.usage.completionTokens': 40,
        'ai.usage.cachedInputTokens': 2000,
      });
    expect(detect(attrs('ai/5.0.277')).inputTokens).toBe(7000);
    expect(detect(attrs('ai/6.0.325')).inputTokens).toBe(5000);
  });

  it('AI SDK 6 (usage details present): Anthropic input already includes the cache', () => {
    const u = detect(
      v5('anthropic.messages', 'claude-sonnet-4-5', {
        'ai.usage.inputTokens': 7500,
        'ai.usage.inputTokenDetails.noCacheTokens': 5000,
        'ai.usage.inputTokenDetails.cacheReadTokens': 2000,
        'ai.usage.inputTokenDetails.cacheWriteTokens': 500,
        'ai.usage.outputTokens': 40,
        'ai.usage.cachedInputTokens': 2000,
      }),
    );
    expect(u).toMatchObject({ inputTokens: 7500, cacheReadTokens: 2000, cacheWriteTokens: 500 });
  });

  it('AI SDK 7 legacy spans: noCacheTokens equal to input says input excludes the cache', () => {
    const u = detect(
      v5('anthropic.messages', 'claude-sonnet-4-5', {
        'ai.usage.inputTokens': 5000,
        'ai.usage.inputTokenDetails.noCacheTokens': 5000,
        'ai.usage.inputTokenDetails.cacheReadTokens': 2000,
        'ai.usage.outputTokens': 40,
      }),
    );
    expect(u).toMatchObject({ inputTokens: 7000, cacheReadTokens: 2000 });
  });
});

describe('Langfuse usage_details', () => {
  const generation = (details: object): Attributes => ({
    'langfuse.observation.type': 'generation',
    'langfuse.observation.model.name': 'claude-sonnet-4-5',
    'gen_ai.system': 'anthropic',
    'langfuse.observation.usage_details': JSON.stringify(details),
  });

  it("Langfuse's own additive keys with Anthropic's cache names", () => {
    const u = detect(
      generation({ input: 30, output: 20, cache_read_input_tokens: 2000, cache_creation_input_tokens: 500 }),
    );
    expect(u).toMatchObject({
      inputTokens: 2530,
      outputTokens: 20,
      cacheReadTokens: 2000,
      cacheWriteTokens: 500,
    });
  });

  it("an Anthropic raw usage object passed through: Anthropic's exclusive input", () => {
    const u = detect(
      generation({
        input_tokens: 5000,
        output_tokens: 20,
        cache_read_input_tokens: 2000,
        cache_creation_input_tokens: 500,
      }),
    );
    expect(u).toMatchObject({ inputTokens: 7500, cacheReadTokens: 2000, cacheWriteTokens: 500 });
  });

  it('an OpenAI Responses raw usage object passed through: inclusive', () => {
    const u = detect(
      generation({
        input_tokens: 5000,
        output_tokens: 60,
        input_tokens_details: { cached_tokens: 2000 },
        output_tokens_details: { reasoning_tokens: 40 },
      }),
    );
    expect(u).toMatchObject({
      inputTokens: 5000,
      outputTokens: 60,
      cacheReadTokens: 2000,
      reasoningTokens: 40,
    });
  });
});

describe('estimated usage', () => {
  const invoke = (model: string): Attributes => ({
    'gen_ai.system': 'aws.bedrock',
    'gen_ai.request.model': model,
    'rpc.method': 'InvokeModel',
    'gen_ai.usage.input_tokens': 12,
    'gen_ai.usage.output_tokens': 30,
  });

  it('Bedrock InvokeModel of Mistral and Cohere Command is marked estimated (chars / 6)', () => {
    const opts = {
      name: 'BedrockRuntime.InvokeModel',
      scope: { name: '@opentelemetry/instrumentation-aws-sdk' },
    };
    expect(detect(invoke('mistral.mistral-large-2407-v1:0'), opts).estimated).toBe(true);
    expect(detect(invoke('us.cohere.command-r-plus-v1:0'), opts).estimated).toBe(true);
    expect(detect(invoke('anthropic.claude-3-haiku-20240307-v1:0'), opts).estimated).toBeUndefined();
  });

  it('Converse reports real counts for the same models', () => {
    const u = detect(
      {
        ...invoke('mistral.mistral-large-2407-v1:0'),
        'rpc.method': 'Converse',
        'gen_ai.operation.name': 'chat',
      },
      { name: 'chat mistral.mistral-large-2407-v1:0' },
    );
    expect(u.estimated).toBeUndefined();
  });
});
