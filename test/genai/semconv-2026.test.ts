import { describe, expect, it } from 'vitest';
import { detectModelCall } from '../../src/genai/detect.js';
import type { Detection } from '../../src/genai/detect.js';
import { renderTransaction } from '../../src/fenra/render-transaction.js';
import { toTransactions } from '../../src/stage/to-transactions.js';
import { PriceBook } from '../../src/pricing/price-book.js';
import { SpanKind } from '../../src/span/span-view.js';
import { makeSpan } from '../helpers/span.js';
import { countsFromProviderUsage } from '../../src/genai/provider-usage.js';

const reason = (d: Detection): string => ('skipped' in d ? d.skipped.reason : `call:${d.call.operation}`);

const chat = {
  'gen_ai.provider.name': 'openai',
  'gen_ai.request.model': 'gpt-4.1',
  'gen_ai.usage.input_tokens': 1000,
  'gen_ai.usage.output_tokens': 50,
};

describe('current GenAI conventions (semantic-conventions-genai)', () => {
  it('bills fetch_response (the poll that returns a background response) and generate_live_content', () => {
    expect(reason(detectModelCall(makeSpan({ ...chat, 'gen_ai.operation.name': 'fetch_response' })))).toBe(
      'call:fetch_response',
    );
    expect(
      reason(detectModelCall(makeSpan({ ...chat, 'gen_ai.operation.name': 'generate_live_content' }))),
    ).toBe('call:generate_live_content');
  });

  it('bills a CLIENT invoke_agent (a remote agent) and never an INTERNAL one', () => {
    const agent = { ...chat, 'gen_ai.operation.name': 'invoke_agent' };
    expect(reason(detectModelCall(makeSpan(agent, { kind: SpanKind.CLIENT })))).toBe('call:invoke_agent');
    expect(reason(detectModelCall(makeSpan(agent, { kind: SpanKind.INTERNAL })))).toBe('aggregate');
  });

  it('a CLIENT invoke_agent over an in-process model call is a wrapper: the call is billed once', () => {
    const agent = makeSpan({ ...chat, 'gen_ai.operation.name': 'invoke_agent' }, { kind: SpanKind.CLIENT });
    const leaf = makeSpan({ ...chat, 'gen_ai.operation.name': 'chat' }, { parentSpanId: agent.spanId });
    const r = toTransactions([leaf, agent], { pricer: new PriceBook() });
    expect(r.transactions.map((t) => t.span.spanId)).toEqual([leaf.spanId]);
    expect(r.skipped.map((s) => s.reason)).toEqual(['aggregate']);
  });

  it('reads cache_write (the current name) before cache_creation, and Sentry’s older names', () => {
    const d = detectModelCall(
      makeSpan({
        ...chat,
        'gen_ai.provider.name': 'anthropic',
        'gen_ai.request.model': 'claude-sonnet-4-5',
        'gen_ai.operation.name': 'chat',
        'gen_ai.usage.cache_write.input_tokens': 300,
        'gen_ai.usage.cache_creation.input_tokens': 999,
      }),
    );
    expect('call' in d && d.call.usage?.cacheWriteTokens).toBe(300);
    const sentry = detectModelCall(
      makeSpan({
        ...chat,
        'gen_ai.operation.name': 'chat',
        'gen_ai.usage.input_tokens.cached': 640,
        'gen_ai.usage.output_tokens.reasoning': 20,
      }),
    );
    expect('call' in sentry && sentry.call.usage).toMatchObject({
      inputTokens: 1000,
      cacheReadTokens: 640,
      outputTokens: 50,
      reasoningTokens: 20,
    });
  });
});

describe('reported cost and known cache gaps reach the context, and only through the call', () => {
  const pricer = new PriceBook();

  it('carries a reported cost beside the local estimate, never in place of it', () => {
    const span = makeSpan({
      ...chat,
      'gen_ai.operation.name': 'chat',
      'gen_ai.cost.total_cost': 0.0123,
      'fenra.context.cache_split_missing': true,
    });
    const [t] = toTransactions([span], { pricer }).transactions;
    expect(renderTransaction(t!).context['reported_cost_usd']).toBe(0.0123);
    expect(renderTransaction(t!).context['reported_cost_source']).toBe('gen_ai.cost.total_cost');
    expect(t!.price.source).toBe('catalog');
    expect(t!.price.usd).not.toBe(0.0123);
    // An application attribute cannot pass for a call fact.
    expect(renderTransaction(t!).context['cache_split_missing']).toBeUndefined();
  });

  it('leaves a reported 0 out (an emitter’s unknown model, not a free call)', () => {
    const span = makeSpan({ ...chat, 'gen_ai.operation.name': 'chat', 'gen_ai.usage.cost': 0 });
    const [t] = toTransactions([span], { pricer }).transactions;
    expect(renderTransaction(t!).context['reported_cost_usd']).toBeUndefined();
  });

  it('an application attribute cannot fake a reported cost either', () => {
    const span = makeSpan({ ...chat, 'gen_ai.operation.name': 'chat', 'fenra.context.reported_cost_usd': 9 });
    const [t] = toTransactions([span], { pricer }).transactions;
    expect(renderTransaction(t!).context['reported_cost_usd']).toBeUndefined();
  });

  it('flags the known gap of instrumentation-openai, not its embeddings', () => {
    const scope = { name: '@opentelemetry/instrumentation-openai' };
    const a = makeSpan({ ...chat, 'gen_ai.operation.name': 'chat' }, { scope });
    const e = makeSpan({ ...chat, 'gen_ai.operation.name': 'embeddings' }, { scope });
    const r = toTransactions([a, e], { pricer }).transactions;
    expect(r.map((t) => renderTransaction(t).context['cache_split_missing'])).toEqual([true, undefined]);
  });
});

describe('per-modality counts and billed counts (semantic-conventions-genai)', () => {
  const usageOf = (d: Detection) => ('call' in d ? d.call.usage : undefined);
  const base = { ...chat, 'gen_ai.operation.name': 'chat' };

  it('reads text/audio/image parts as subsets of the totals, never adding them', () => {
    const u = usageOf(
      detectModelCall(
        makeSpan({
          ...base,
          'gen_ai.usage.text.input_tokens': 600,
          'gen_ai.usage.audio.input_tokens': 300,
          'gen_ai.usage.image.input_tokens': 100,
          'gen_ai.usage.text.output_tokens': 30,
          'gen_ai.usage.audio.output_tokens': 20,
        }),
      ),
    );
    expect(u).toMatchObject({
      inputTokens: 1000,
      outputTokens: 50,
      audioInputTokens: 300,
      imageInputTokens: 100,
    });
    expect(u!.anomalies).toBeUndefined();
  });

  it('takes the sum of the parts as the total when a span states only parts (text included)', () => {
    const u = usageOf(
      detectModelCall(
        makeSpan({
          'gen_ai.operation.name': 'generate_live_content',
          'gen_ai.provider.name': 'gcp.gemini',
          'gen_ai.request.model': 'gemini-2.5-flash',
          'gen_ai.usage.text.input_tokens': 120,
          'gen_ai.usage.audio.input_tokens': 800,
          'gen_ai.usage.text.output_tokens': 40,
          'gen_ai.usage.audio.output_tokens': 500,
        }),
      ),
    );
    expect(u).toMatchObject({
      inputTokens: 920,
      outputTokens: 540,
      audioInputTokens: 800,
      audioOutputTokens: 500,
    });
  });

  it('parts adding up to more than the total prove the total left one out', () => {
    const u = usageOf(
      detectModelCall(
        makeSpan({ ...base, 'gen_ai.usage.text.input_tokens': 1000, 'gen_ai.usage.audio.input_tokens': 400 }),
      ),
    );
    expect(u).toMatchObject({
      inputTokens: 1400,
      audioInputTokens: 400,
      anomalies: ['input_excluded_modality'],
    });
  });

  it('bills what the provider billed, not what the model consumed (Cohere billed_units beside tokens)', () => {
    const v2 = {
      billed_units: { input_tokens: 12, output_tokens: 180 },
      tokens: { input_tokens: 212, output_tokens: 180 },
    };
    expect(countsFromProviderUsage(v2)).toEqual({ input: 12, output: 180 });
    expect(countsFromProviderUsage({ meta: v2 })).toEqual({ input: 12, output: 180 });
    // Through a span's raw usage (Logfire's gen_ai.usage.raw).
    const u = usageOf(
      detectModelCall(
        makeSpan(
          {
            'gen_ai.operation.name': 'chat',
            'gen_ai.system': 'cohere',
            'gen_ai.request.model': 'command-r-plus',
            'gen_ai.usage.raw': JSON.stringify({ meta: v2 }),
          },
          { scope: { name: 'logfire' } },
        ),
      ),
    );
    expect(u).toMatchObject({ inputTokens: 12, outputTokens: 180 });
  });
});
