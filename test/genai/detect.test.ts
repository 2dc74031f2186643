import { describe, expect, it } from 'vitest';
import { detectModelCall } from '../../src/genai/detect.js';
import type { Detection } from '../../src/genai/detect.js';
import type { Usage } from '../../src/genai/types.js';
import { StatusCode } from '../../src/span/span-view.js';
import { makeSpan } from '../helpers/span.js';

function call(d: Detection) {
  if (!('call' in d))
    throw new Error(`expected a model call, got skip: ${d.skipped.reason} (${d.skipped.detail})`);
  return d.call;
}
function skipReason(d: Detection): string | undefined {
  return 'skipped' in d ? d.skipped.reason : undefined;
}
function usageOf(d: Detection): Usage {
  return call(d).usage!;
}

describe('detection: what is a model call', () => {
  it.each([
    [
      'semconv chat',
      {
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': 'openai',
        'gen_ai.request.model': 'gpt-4o',
        'gen_ai.usage.input_tokens': 10,
        'gen_ai.usage.output_tokens': 2,
      },
      'call',
    ],
    [
      'semconv embeddings',
      {
        'gen_ai.operation.name': 'embeddings',
        'gen_ai.system': 'openai',
        'gen_ai.request.model': 'text-embedding-3-small',
        'gen_ai.usage.input_tokens': 8,
      },
      'call',
    ],
    [
      'Semantic Kernel chat.completions',
      {
        'gen_ai.operation.name': 'chat.completions',
        'gen_ai.system': 'openai',
        'gen_ai.request.model': 'gpt-4o',
        'gen_ai.usage.input_tokens': 1,
        'gen_ai.usage.output_tokens': 1,
      },
      'call',
    ],
    [
      'Bedrock InvokeModel without operation',
      {
        'gen_ai.system': 'aws.bedrock',
        'gen_ai.request.model': 'anthropic.claude-3-haiku-20240307-v1:0',
        'gen_ai.usage.input_tokens': 5,
        'gen_ai.usage.output_tokens': 5,
      },
      'call',
    ],
    [
      'OpenInference LLM',
      {
        'openinference.span.kind': 'LLM',
        'llm.model_name': 'gpt-4o',
        'llm.provider': 'openai',
        'llm.token_count.prompt': 3,
        'llm.token_count.completion': 4,
      },
      'call',
    ],
    [
      'legacy OpenLLMetry',
      {
        'llm.request.type': 'chat',
        'gen_ai.system': 'OpenAI',
        'gen_ai.request.model': 'gpt-4o',
        'gen_ai.usage.prompt_tokens': 3,
        'gen_ai.usage.completion_tokens': 4,
      },
      'call',
    ],
    [
      'AI SDK doGenerate',
      {
        'ai.operationId': 'ai.generateText.doGenerate',
        'ai.model.provider': 'openai.chat',
        'ai.model.id': 'gpt-4o',
        'ai.usage.promptTokens': 3,
        'ai.usage.completionTokens': 4,
      },
      'call',
    ],
    [
      'Langfuse generation',
      {
        'langfuse.observation.type': 'generation',
        'langfuse.observation.model.name': 'gpt-4o',
        'langfuse.observation.usage_details': '{"input":3,"output":4}',
      },
      'call',
    ],
  ])('%s is a model call', (_n, attrs, _kind) => {
    expect('call' in detectModelCall(makeSpan(attrs))).toBe(true);
  });

  it.each([
    ['an HTTP span', { 'http.request.method': 'POST', 'url.full': 'https://x' }, 'not_genai'],
    ['a decoy named llm.summary', { 'app.step': 'summary' }, 'not_genai'],
    [
      'invoke_agent with usage',
      {
        'gen_ai.operation.name': 'invoke_agent',
        'gen_ai.usage.input_tokens': 100,
        'gen_ai.usage.output_tokens': 10,
      },
      'aggregate',
    ],
    ['execute_tool', { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'search' }, 'not_genai'],
    [
      'AI SDK outer generateText',
      { 'ai.operationId': 'ai.generateText', 'ai.usage.promptTokens': 3, 'ai.usage.completionTokens': 4 },
      'aggregate',
    ],
    ['AI SDK tool call', { 'ai.operationId': 'ai.toolCall', 'ai.toolCall.name': 'x' }, 'not_genai'],
    [
      'OpenInference CHAIN with usage',
      { 'openinference.span.kind': 'CHAIN', 'llm.token_count.prompt': 3 },
      'aggregate',
    ],
    ['Traceloop workflow', { 'traceloop.span.kind': 'workflow', 'traceloop.entity.name': 'w' }, 'not_genai'],
    ['Langfuse agent span', { 'langfuse.observation.type': 'agent' }, 'not_genai'],
    [
      'Pydantic AI aggregated usage only',
      { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.aggregated_usage.input_tokens': 5 },
      'not_genai',
    ],
    ['guardrail', { 'gen_ai.operation.name': 'guardrail.run', 'gen_ai.system': 'openai' }, 'not_genai'],
  ])('%s is not billed (%s)', (_n, attrs, reason) => {
    expect(skipReason(detectModelCall(makeSpan(attrs, { name: 'llm.summary' })))).toBe(reason);
  });

  it('a streaming call without usage is reported, never billed as zero', () => {
    const d = detectModelCall(
      makeSpan({
        'gen_ai.operation.name': 'chat',
        'gen_ai.system': 'openai',
        'gen_ai.request.model': 'gpt-4o',
        'gen_ai.request.stream': true,
      }),
    );
    expect(skipReason(d)).toBe('missing_usage');
  });

  it('a failed call without usage is not billed', () => {
    const d = detectModelCall(
      makeSpan(
        {
          'gen_ai.operation.name': 'chat',
          'gen_ai.system': 'openai',
          'gen_ai.request.model': 'gpt-4o',
          'error.type': '500',
        },
        { status: { code: StatusCode.ERROR } },
      ),
    );
    expect(skipReason(d)).toBe('failed_no_usage');
  });

  it('a failed call that reported usage is billed', () => {
    const d = detectModelCall(
      makeSpan(
        {
          'gen_ai.operation.name': 'chat',
          'gen_ai.system': 'openai',
          'gen_ai.request.model': 'gpt-4o',
          'gen_ai.usage.input_tokens': 7,
          'gen_ai.usage.output_tokens': 1,
        },
        { status: { code: StatusCode.ERROR } },
      ),
    );
    expect(usageOf(d).inputTokens).toBe(7);
  });

  it('usage without any model id is reported', () => {
    expect(
      skipReason(
        detectModelCall(makeSpan({ 'gen_ai.operation.name': 'chat', 'gen_ai.usage.input_tokens': 1 })),
      ),
    ).toBe('missing_model');
  });

  it('reads the service tier', () => {
    const d = detectModelCall(
      makeSpan({
        'gen_ai.operation.name': 'chat',
        'gen_ai.system': 'openai',
        'gen_ai.request.model': 'gpt-4o',
        'gen_ai.usage.input_tokens': 1,
        'gen_ai.usage.output_tokens': 1,
        'openai.response.service_tier': 'flex',
      }),
    );
    expect(call(d).modelTier).toBe('flex');
  });
});

describe('usage: one inclusive convention', () => {
  const base = { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'm' };

  it('semconv totals already include cache and reasoning', () => {
    const u = usageOf(
      detectModelCall(
        makeSpan({
          ...base,
          'gen_ai.provider.name': 'openai',
          'gen_ai.usage.input_tokens': 1000,
          'gen_ai.usage.output_tokens': 300,
          'gen_ai.usage.cache_read.input_tokens': 800,
          'gen_ai.usage.reasoning.output_tokens': 200,
        }),
      ),
    );
    expect(u).toMatchObject({
      inputTokens: 1000,
      outputTokens: 300,
      cacheReadTokens: 800,
      reasoningTokens: 200,
      totalTokens: 1300,
    });
    expect(u.anomalies).toBeUndefined();
  });

  it('Anthropic SDK tracing: input includes cache reads and writes, with the TTL split', () => {
    const u = usageOf(
      detectModelCall(
        makeSpan(
          {
            ...base,
            'gen_ai.provider.name': 'anthropic',
            'gen_ai.usage.input_tokens': 1510,
            'gen_ai.usage.output_tokens': 20,
            'gen_ai.usage.cache_read.input_tokens': 1000,
            'gen_ai.usage.cache_write.input_tokens': 500,
            'anthropic.usage.cache_creation.ephemeral_5m_input_tokens': 200,
            'anthropic.usage.cache_creation.ephemeral_1h_input_tokens': 300,
          },
          { scope: { name: 'com.anthropic.sdk.typescript' } },
        ),
      ),
    );
    expect(u).toMatchObject({
      inputTokens: 1510,
      cacheReadTokens: 1000,
      cacheWriteTokens: 500,
      cacheWrite5mTokens: 200,
      cacheWrite1hTokens: 300,
    });
  });

  it('OpenLIT Anthropic: input excludes cache, so it is added', () => {
    const u = usageOf(
      detectModelCall(
        makeSpan({
          ...base,
          'telemetry.sdk.name': 'openlit',
          'gen_ai.provider.name': 'anthropic',
          'gen_ai.usage.input_tokens': 10,
          'gen_ai.usage.output_tokens': 20,
          'gen_ai.usage.cache_read.input_tokens': 1000,
          'gen_ai.usage.cache_creation.input_tokens': 500,
          'gen_ai.usage.cost': 0,
        }),
      ),
    );
    expect(u.inputTokens).toBe(1510);
    expect(u.providerCostUsd).toBeUndefined();
  });

  it('a part larger than its total proves the total excluded it', () => {
    const u = usageOf(
      detectModelCall(
        makeSpan({
          ...base,
          'gen_ai.provider.name': 'anthropic',
          'gen_ai.usage.input_tokens': 10,
          'gen_ai.usage.output_tokens': 20,
          'gen_ai.usage.cache_read.input_tokens': 1000,
        }),
      ),
    );
    expect(u.inputTokens).toBe(1010);
    expect(u.anomalies).toEqual(['input_excluded_cache']);
  });

  it('ADK call_llm reports Gemini output without thinking tokens', () => {
    const u = usageOf(
      detectModelCall(
        makeSpan(
          {
            'gen_ai.system': 'gcp.vertex.agent',
            'gen_ai.request.model': 'gemini-2.5-flash',
            'gen_ai.usage.input_tokens': 100,
            'gen_ai.usage.output_tokens': 50,
            'gen_ai.usage.experimental.reasoning_tokens': 30,
          },
          { name: 'call_llm' },
        ),
      ),
    );
    expect(u).toMatchObject({ inputTokens: 100, outputTokens: 80, reasoningTokens: 30 });
  });

  it('OpenLLMetry Python Bedrock Converse input excludes cache', () => {
    const u = usageOf(
      detectModelCall(
        makeSpan(
          {
            ...base,
            'gen_ai.provider.name': 'aws.bedrock',
            'gen_ai.usage.input_tokens': 100,
            'gen_ai.usage.output_tokens': 5,
            'gen_ai.usage.cache_read.input_tokens': 50,
          },
          { scope: { name: 'opentelemetry.instrumentation.bedrock' } },
        ),
      ),
    );
    expect(u.inputTokens).toBe(150);
  });

  it('legacy OpenLLMetry prompt/completion tokens and underscore cache names', () => {
    const u = usageOf(
      detectModelCall(
        makeSpan({
          'llm.request.type': 'chat',
          'gen_ai.system': 'Anthropic',
          'gen_ai.request.model': 'claude-3-haiku-20240307',
          'gen_ai.usage.prompt_tokens': 1200,
          'gen_ai.usage.completion_tokens': 5,
          'gen_ai.usage.cache_read_input_tokens': 1000,
          'llm.usage.total_tokens': 1205,
        }),
      ),
    );
    expect(u).toMatchObject({ inputTokens: 1200, outputTokens: 5, cacheReadTokens: 1000, totalTokens: 1205 });
  });

  it('OpenInference details', () => {
    const u = usageOf(
      detectModelCall(
        makeSpan({
          'openinference.span.kind': 'LLM',
          'llm.model_name': 'gpt-4o-audio',
          'llm.provider': 'openai',
          'llm.token_count.prompt': 100,
          'llm.token_count.completion': 50,
          'llm.token_count.prompt_details.cache_read': 40,
          'llm.token_count.prompt_details.audio': 20,
          'llm.token_count.completion_details.reasoning': 10,
          'llm.token_count.completion_details.audio': 5,
        }),
      ),
    );
    expect(u).toMatchObject({
      inputTokens: 100,
      outputTokens: 50,
      cacheReadTokens: 40,
      audioInputTokens: 20,
      reasoningTokens: 10,
      audioOutputTokens: 5,
    });
  });

  it('AI SDK v5 Anthropic: the raw usage in providerMetadata settles exclusivity', () => {
    const meta = JSON.stringify({
      anthropic: {
        cacheCreationInputTokens: 500,
        usage: {
          input_tokens: 10,
          output_tokens: 20,
          cache_creation_input_tokens: 500,
          cache_read_input_tokens: 1000,
        },
      },
    });
    const u = usageOf(
      detectModelCall(
        makeSpan({
          'ai.operationId': 'ai.streamText.doStream',
          'ai.model.provider': 'anthropic.messages',
          'ai.model.id': 'claude-sonnet-4-5',
          'ai.usage.inputTokens': 10,
          'ai.usage.outputTokens': 20,
          'ai.usage.cachedInputTokens': 1000,
          'ai.response.providerMetadata': meta,
        }),
      ),
    );
    expect(u).toMatchObject({
      inputTokens: 1510,
      outputTokens: 20,
      cacheReadTokens: 1000,
      cacheWriteTokens: 500,
    });
  });

  it('AI SDK v5 Google: thinking tokens outside output are added from usageMetadata', () => {
    const meta = JSON.stringify({
      google: {
        usageMetadata: {
          promptTokenCount: 100,
          candidatesTokenCount: 40,
          thoughtsTokenCount: 60,
          totalTokenCount: 200,
        },
      },
    });
    const u = usageOf(
      detectModelCall(
        makeSpan({
          'ai.operationId': 'ai.generateText.doGenerate',
          'ai.model.provider': 'google.generative-ai',
          'ai.model.id': 'gemini-2.5-flash',
          'ai.usage.promptTokens': 100,
          'ai.usage.completionTokens': 40,
          'ai.response.providerMetadata': meta,
        }),
      ),
    );
    expect(u).toMatchObject({ inputTokens: 100, outputTokens: 100, reasoningTokens: 60, totalTokens: 200 });
  });

  it('Langfuse usage_details are additive', () => {
    const u = usageOf(
      detectModelCall(
        makeSpan({
          'langfuse.observation.type': 'generation',
          'langfuse.observation.model.name': 'gpt-4o',
          'langfuse.observation.usage_details':
            '{"input":60,"input_cached_tokens":40,"output":30,"output_reasoning_tokens":20}',
        }),
      ),
    );
    expect(u).toMatchObject({ inputTokens: 100, outputTokens: 50, cacheReadTokens: 40, reasoningTokens: 20 });
  });

  it('Logfire: usage from gen_ai.usage.raw fills the cache the span lacks', () => {
    const raw = JSON.stringify({
      input_tokens: 10,
      output_tokens: 5,
      cache_read_input_tokens: 90,
      cache_creation_input_tokens: 0,
    });
    const u = usageOf(
      detectModelCall(
        makeSpan({
          ...base,
          'logfire.msg': 'Message with claude',
          'gen_ai.system': 'anthropic',
          'gen_ai.usage.input_tokens': 100,
          'gen_ai.usage.output_tokens': 5,
          'gen_ai.usage.raw': raw,
        }),
      ),
    );
    expect(u).toMatchObject({ inputTokens: 100, cacheReadTokens: 90 });
  });

  it('Logfire: a streaming request span is not billed; its response log span is', () => {
    const req = detectModelCall(
      makeSpan({
        'logfire.msg': 'Chat Completion',
        'gen_ai.system': 'openai',
        'gen_ai.request.model': 'gpt-4o',
        request_data: '{"model":"gpt-4o","stream": true}',
      }),
    );
    expect(skipReason(req)).toBe('aggregate');
    const log = detectModelCall(
      makeSpan(
        {
          'logfire.span_type': 'log',
          'gen_ai.system': 'openai',
          'gen_ai.request.model': 'gpt-4o',
          'gen_ai.usage.input_tokens': 9,
          'gen_ai.usage.output_tokens': 3,
        },
        { name: "streaming response from 'gpt-4o' took 1.20s" },
      ),
    );
    expect(usageOf(log).inputTokens).toBe(9);
  });

  it('older Semantic Kernel -1 means unknown, not negative', () => {
    const d = detectModelCall(
      makeSpan({
        ...base,
        'gen_ai.system': 'openai',
        'gen_ai.response.prompt_tokens': -1,
        'gen_ai.response.completion_tokens': -1,
      }),
    );
    expect(skipReason(d)).toBe('missing_usage');
  });

  it('OTLP/JSON int64 strings are numbers', () => {
    const u = usageOf(
      detectModelCall(
        makeSpan({
          ...base,
          'gen_ai.system': 'openai',
          'gen_ai.usage.input_tokens': '12',
          'gen_ai.usage.output_tokens': '3',
        }),
      ),
    );
    expect(u.inputTokens).toBe(12);
  });
});
