/**
 * The agent frameworks' own numbers where the run-time check ("a part larger than its total")
 * cannot rescue a wrong reading: the uncached input is LARGER than the cache, so only the
 * dialect's rule decides whether input includes it.
 */
import { describe, expect, it } from 'vitest';
import { detectModelCall } from '../../src/genai/detect.js';
import type { Detection } from '../../src/genai/detect.js';
import { AGENT_FRAMEWORK_SCOPE } from '../../src/genai/dialects/agent-framework.js';
import { STRANDS_SCOPE } from '../../src/genai/dialects/strands.js';
import type { Attributes } from '../../src/span/span-view.js';
import { SpanKind } from '../../src/span/span-view.js';
import { makeSpan } from '../helpers/span.js';

const outcome = (d: Detection) => ('call' in d ? d.call.usage : d.skipped.reason);
const counts: Attributes = {
  'gen_ai.usage.input_tokens': 3000,
  'gen_ai.usage.output_tokens': 100,
  'gen_ai.usage.cache_read.input_tokens': 1000,
};

describe('Microsoft Agent Framework', () => {
  const scope = { name: AGENT_FRAMEWORK_SCOPE, version: '1.13.0' };
  const chat = (provider: string, model: string) =>
    detectModelCall(
      makeSpan(
        {
          'gen_ai.operation.name': 'chat',
          'gen_ai.provider.name': provider,
          'gen_ai.request.model': model,
          ...counts,
        },
        { scope, kind: SpanKind.INTERNAL },
      ),
    );

  it('its Anthropic and Bedrock clients report input without the cache; its OpenAI client with it', () => {
    expect(outcome(chat('anthropic', 'claude-sonnet-4-5'))).toMatchObject({
      inputTokens: 4000,
      cacheReadTokens: 1000,
    });
    expect(outcome(chat('aws.bedrock', 'anthropic.claude-3-5-haiku-20241022-v1:0'))).toMatchObject({
      inputTokens: 4000,
    });
    expect(outcome(chat('openai', 'gpt-4.1'))).toMatchObject({ inputTokens: 3000, cacheReadTokens: 1000 });
  });

  it('its invoke_agent span (INTERNAL, the sum of its chat spans) is an aggregate', () => {
    const agent = makeSpan(
      {
        'gen_ai.operation.name': 'invoke_agent',
        'gen_ai.provider.name': 'microsoft.agent_framework',
        'gen_ai.request.model': 'gpt-4.1',
        ...counts,
      },
      { scope, kind: SpanKind.INTERNAL },
    );
    expect(outcome(detectModelCall(agent))).toBe('aggregate');
  });
});

describe('Strands Agents', () => {
  const scope = { name: STRANDS_SCOPE };
  const chat = (model: string, extra: Attributes = {}) =>
    detectModelCall(
      makeSpan(
        {
          'gen_ai.operation.name': 'chat',
          'gen_ai.system': 'strands-agents',
          'gen_ai.request.model': model,
          'gen_ai.usage.input_tokens': 3000,
          'gen_ai.usage.output_tokens': 100,
          ...extra,
        },
        { scope, kind: SpanKind.INTERNAL },
      ),
    );

  it('Bedrock (its default) reports input without the cache; the model id names the provider', () => {
    const d = chat('us.anthropic.claude-sonnet-4-20250514-v1:0', {
      'gen_ai.usage.cache_read_input_tokens': 1000,
      'gen_ai.usage.cache_write_input_tokens': 200,
    });
    expect(outcome(d)).toMatchObject({ inputTokens: 4200, cacheReadTokens: 1000, cacheWriteTokens: 200 });
    expect('call' in d && d.call.provider.fenra).toBe('bedrock');
  });

  it('OpenAI reports input with the cache', () => {
    expect(outcome(chat('gpt-4.1', { 'gen_ai.usage.cache_read_input_tokens': 1000 }))).toMatchObject({
      inputTokens: 3000,
    });
  });

  it('its Anthropic model keeps no cache count: billed as stated, and said so', () => {
    expect(outcome(chat('claude-sonnet-4-5'))).toMatchObject({ inputTokens: 3000, cacheSplitMissing: true });
  });
});

describe('Pydantic AI', () => {
  it('reads no gen_ai.aggregated_usage.* (the agent run total) as usage', () => {
    const run = makeSpan(
      {
        'gen_ai.operation.name': 'invoke_agent',
        'logfire.msg': 'support_agent run',
        model_name: 'gpt-5-mini',
        'gen_ai.aggregated_usage.input_tokens': 5350,
        'gen_ai.aggregated_usage.output_tokens': 200,
      },
      { scope: { name: 'pydantic-ai', version: '2.33.0' }, kind: SpanKind.INTERNAL },
    );
    expect(outcome(detectModelCall(run))).toBe('not_genai');
  });
});
