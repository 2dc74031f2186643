import { describe, expect, it } from 'vitest';
import { scanAttributes } from '../../src/genai/attribute-scan.js';
import { canonicalProvider, resolveProvider } from '../../src/genai/provider.js';

describe('canonicalProvider', () => {
  it.each([
    ['openai', 'openai'],
    ['OpenAI', 'openai'],
    ['az.ai.openai', 'azure.ai.openai'],
    ['azure.ai.openai', 'azure.ai.openai'],
    ['Azure', 'azure.ai.openai'],
    ['azure-openai', 'azure.ai.openai'],
    ['azure.chat', 'azure.ai.openai'],
    ['openai.chat', 'openai'],
    ['openai.responses', 'openai'],
    ['anthropic.messages', 'anthropic'],
    ['aws.bedrock', 'aws.bedrock'],
    ['AWS', 'aws.bedrock'],
    ['amazon-bedrock', 'aws.bedrock'],
    ['bedrock_converse', 'aws.bedrock'],
    ['gcp.vertex_ai', 'gcp.vertex_ai'],
    ['vertex_ai', 'gcp.vertex_ai'],
    ['google.vertex.chat', 'gcp.vertex_ai'],
    ['vertex.anthropic.messages', 'gcp.vertex_ai'],
    ['gcp.gemini', 'gcp.gemini'],
    ['gemini', 'gcp.gemini'],
    ['google.generative-ai', 'gcp.gemini'],
    ['gcp.gen_ai', 'gcp.gen_ai'],
    ['x_ai', 'x_ai'],
    ['xai', 'x_ai'],
    ['xai.chat', 'x_ai'],
    ['deepseek', 'deepseek'],
    ['deepseek.chat', 'deepseek'],
    ['mistral_ai', 'mistral_ai'],
    ['MistralAI', 'mistral_ai'],
    ['mistral.chat', 'mistral_ai'],
    ['ibm.watson.ai', 'ibm.watsonx.ai'],
  ])('%s → %s', (raw, canonical) => {
    expect(canonicalProvider(raw)).toBe(canonical);
  });

  it.each(['gcp.vertex.agent', 'langchain', 'crewai', 'gateway', 'openrouter', 'something-new'])(
    '%s is not a provider',
    (raw) => {
      expect(canonicalProvider(raw)).toBeUndefined();
    },
  );
});

describe('resolveProvider', () => {
  it.each([
    [{ 'gen_ai.provider.name': 'openai' }, 'gpt-4o', 'openai', 'openai'],
    [{ 'gen_ai.system': 'az.ai.openai' }, 'gpt-4o', 'openai', 'azure.ai.openai'],
    [
      { 'gen_ai.system': 'openai', 'server.address': 'my-res.openai.azure.com' },
      'gpt-4o',
      'openai',
      'azure.ai.openai',
    ],
    [
      { 'gen_ai.system': 'aws.bedrock' },
      'us.anthropic.claude-3-haiku-20240307-v1:0',
      'bedrock',
      'aws.bedrock',
    ],
    [{ 'gen_ai.system': 'gcp.vertex.agent' }, 'gemini-2.5-flash', 'gemini', 'gcp.gemini'],
    [{ 'gen_ai.provider.name': 'gcp.vertex_ai' }, 'claude-sonnet-4@20250514', 'anthropic', 'gcp.vertex_ai'],
    [{ 'gen_ai.provider.name': 'gcp.vertex_ai' }, 'gemini-2.5-pro', 'gemini', 'gcp.vertex_ai'],
    [{ 'gen_ai.provider.name': 'gcp.vertex_ai' }, 'llama-3.1-405b', 'custom', 'gcp.vertex_ai'],
    [{ 'gen_ai.provider.name': 'x_ai' }, 'grok-4', 'xai', 'x_ai'],
    [{ 'gen_ai.provider.name': 'mistral_ai' }, 'mistral-large', 'custom', 'mistral_ai'],
    [{ 'llm.provider': 'google', 'llm.system': 'vertexai' }, 'gemini-2.5-pro', 'gemini', 'gcp.vertex_ai'],
    [{ 'ai.model.provider': 'anthropic.messages' }, 'claude-3-5-haiku', 'anthropic', 'anthropic'],
    [{ 'gen_ai.system': 'gateway' }, 'anthropic/claude-sonnet-4', 'anthropic', 'anthropic'],
    [{ 'gen_ai.system': 'openrouter' }, 'openai/gpt-4o', 'openai', 'openai'],
    [{ 'server.address': 'api.deepseek.com' }, 'deepseek-chat', 'deepseek', 'deepseek'],
    [{}, 'claude-3-haiku-20240307', 'anthropic', 'anthropic'],
    [{}, 'totally-unknown', 'custom', undefined],
  ] as const)('%j with %s → %s (%s)', (attrs, model, fenra, canonical) => {
    const r = resolveProvider(scanAttributes(attrs), model);
    expect(r.fenra).toBe(fenra);
    expect(r.canonical).toBe(canonical);
  });

  it('keeps the original spelling for context', () => {
    expect(resolveProvider(scanAttributes({ 'gen_ai.system': 'groq' }), 'llama-3.3-70b').raw).toBe('groq');
  });
});
