import { describe, expect, it } from 'vitest';
import { resolveContext, UNATTRIBUTED } from '../../src/genai/context.js';
import { detectModelCall } from '../../src/genai/detect.js';
import { toTransactions } from '../../src/stage/to-transactions.js';
import type { ModelCall } from '../../src/genai/types.js';
import { tokenMetrics } from '../../src/fenra/metric-names.js';
import type { Pricer } from '../../src/pricing/types.js';
import type { Attributes } from '../../src/span/span-view.js';
import { makeSpan } from '../helpers/span.js';

/** A pricer double: $1 per million input tokens, so results are checkable by hand. */
const pricer: Pricer = {
  price: (r) => ({ usd: r.usage.inputTokens / 1e6, source: 'catalog', catalog: 'test' }),
};

const chat = (extra: Attributes = {}): Attributes => ({
  'gen_ai.operation.name': 'chat',
  'gen_ai.provider.name': 'openai',
  'gen_ai.request.model': 'gpt-4o',
  'gen_ai.usage.input_tokens': 100,
  'gen_ai.usage.output_tokens': 10,
  ...extra,
});

function callOf(attrs: Attributes): ModelCall {
  const d = detectModelCall(makeSpan(attrs));
  if (!('call' in d)) throw new Error('not a call');
  return d.call;
}

describe('resolveContext', () => {
  const call = callOf(chat({ 'gen_ai.response.id': 'chatcmpl-1' }));

  it('looks up the customer on the span, then ancestors, then baggage, then the resource', () => {
    const layers = (span: Attributes, anc: Attributes[], bag: Attributes | undefined, res: Attributes) => ({
      span,
      ancestors: anc,
      baggage: bag,
      resource: res,
    });
    const k = 'fenra.billable_customer_id';
    expect(
      resolveContext(call, layers({ [k]: 's' }, [{ [k]: 'a' }], { [k]: 'b' }, { [k]: 'r' })).context
        .billable_customer_id,
    ).toBe('s');
    expect(
      resolveContext(call, layers({}, [{}, { [k]: 'a2' }], { [k]: 'b' }, { [k]: 'r' })).context
        .billable_customer_id,
    ).toBe('a2');
    expect(
      resolveContext(call, layers({}, [], { [k]: 'b' }, { [k]: 'r' })).context.billable_customer_id,
    ).toBe('b');
    expect(resolveContext(call, layers({}, [], undefined, { [k]: 'r' })).context.billable_customer_id).toBe(
      'r',
    );
  });

  it('an explicit Fenra key on an ancestor beats a user id on the span', () => {
    const r = resolveContext(call, {
      span: { 'user.id': 'u1' },
      ancestors: [{ 'fenra.billable_customer_id': 'acme' }],
      resource: {},
    });
    expect(r.context.billable_customer_id).toBe('acme');
    expect(r.context.user_id).toBe('u1');
  });

  it('numeric ids become strings', () => {
    expect(
      resolveContext(call, {
        span: { 'traceloop.association.properties.customer_id': 42 },
        ancestors: [],
        resource: {},
      }).context.billable_customer_id,
    ).toBe('42');
  });

  it('falls back to the configured default, then to unattributed', () => {
    const layers = { span: {}, ancestors: [], resource: {} };
    expect(resolveContext(call, layers, { defaultCustomerId: 'd' })).toMatchObject({
      context: { billable_customer_id: 'd' },
      attributed: true,
    });
    expect(resolveContext(call, layers)).toMatchObject({
      context: { billable_customer_id: UNATTRIBUTED },
      attributed: false,
    });
  });

  it('carries environment, service, ids, session, feature, fenra.context.* and the allow-list, nothing else', () => {
    const r = resolveContext(
      call,
      {
        span: {
          'gen_ai.input.messages': '[{"role":"user","content":"secret"}]',
          'fenra.context.team': 'search',
          'http.url': 'x',
        },
        ancestors: [
          {
            'session.id': 's1',
            'ai.telemetry.functionId': 'summarise',
            'tenant.tier': 'gold',
            'fenra.billable_customer_id': 'acme',
          },
        ],
        resource: { 'service.name': 'api', 'deployment.environment': 'staging' },
      },
      { contextKeys: ['tenant.tier'] },
    );
    expect(r.context).toEqual({
      billable_customer_id: 'acme',
      environment: 'staging',
      service: 'api',
      trace_id: call.span.traceId,
      span_id: call.span.spanId,
      operation: 'chat',
      session_id: 's1',
      feature: 'summarise',
      request_id: 'chatcmpl-1',
      team: 'search',
      'tenant.tier': 'gold',
    });
  });

  it('deployment.environment.name wins over the older key', () => {
    const r = resolveContext(call, {
      span: {},
      ancestors: [],
      resource: { 'deployment.environment.name': 'prod', 'deployment.environment': 'old' },
    });
    expect(r.context.environment).toBe('prod');
  });

  it('keeps the original provider for custom providers and Azure', () => {
    const groq = callOf({
      ...chat(),
      'gen_ai.provider.name': 'groq',
      'gen_ai.request.model': 'llama-3.3-70b',
    });
    expect(resolveContext(groq, { span: {}, ancestors: [], resource: {} }).context.provider_raw).toBe('groq');
    const azure = callOf({ ...chat(), 'gen_ai.provider.name': 'azure.ai.openai' });
    expect(resolveContext(azure, { span: {}, ancestors: [], resource: {} }).context.provider_raw).toBe(
      'azure.ai.openai',
    );
    // The span's own spelling, not the canonical id, for custom providers.
    const mistral = callOf({
      'ai.operationId': 'ai.generateText.doGenerate',
      'ai.model.provider': 'mistral.chat',
      'ai.model.id': 'mistral-large-latest',
      'ai.usage.promptTokens': 10,
      'ai.usage.completionTokens': 2,
    });
    expect(mistral.provider.fenra).toBe('custom');
    expect(resolveContext(mistral, { span: {}, ancestors: [], resource: {} }).context.provider_raw).toBe(
      'mistral.chat',
    );
    // An OpenAI client with an Azure host: the span says `openai`, the context says Azure.
    const azureHost = callOf({ ...chat(), 'server.address': 'acme.openai.azure.com' });
    expect(resolveContext(azureHost, { span: {}, ancestors: [], resource: {} }).context.provider_raw).toBe(
      'azure.ai.openai',
    );
  });

  it('says when counts contradicted their convention and were corrected, and when they are estimates', () => {
    const corrected = callOf({
      ...chat(),
      'gen_ai.usage.input_tokens': 100,
      'gen_ai.usage.cache_read.input_tokens': 500,
    });
    const ctx = resolveContext(corrected, { span: {}, ancestors: [], resource: {} }).context;
    expect(ctx.usage_corrected).toBe('input_excluded_cache');
    expect(ctx.usage_estimated).toBeUndefined();
    expect(
      resolveContext(call, { span: {}, ancestors: [], resource: {} }).context.usage_corrected,
    ).toBeUndefined();
    // Nobody can forge them through fenra.context.*.
    const forged = resolveContext(call, {
      span: { 'fenra.context.usage_corrected': 'x', 'fenra.context.usage_estimated': 'y' },
      ancestors: [],
      resource: {},
    }).context;
    expect(forged.usage_corrected).toBeUndefined();
    expect(forged.usage_estimated).toBeUndefined();
  });
});

describe('tokenMetrics', () => {
  const u = {
    inputTokens: 1510,
    outputTokens: 300,
    totalTokens: 1810,
    cacheReadTokens: 1000,
    cacheWriteTokens: 500,
    reasoningTokens: 100,
  };
  it('anthropic style: input excludes cache reads and writes', () => {
    expect(tokenMetrics('anthropic', u)).toEqual({
      input_tokens: 10,
      output_tokens: 300,
      total_tokens: 1810,
      cache_read_input_tokens: 1000,
      cache_creation_input_tokens: 500,
      reasoning_tokens: 100,
    });
    expect(tokenMetrics('bedrock', { inputTokens: 20, outputTokens: 5, totalTokens: 25 })).toEqual({
      input_tokens: 20,
      output_tokens: 5,
      total_tokens: 25,
    });
  });
  it('parts the span did not report are left out, never sent as 0', () => {
    expect(tokenMetrics('openai', { inputTokens: 10, outputTokens: 5, totalTokens: 15 })).toEqual({
      input_tokens: 10,
      output_tokens: 5,
      total_tokens: 15,
    });
  });
  it('openai style: input includes cached tokens', () => {
    expect(
      tokenMetrics('openai', {
        inputTokens: 1000,
        outputTokens: 300,
        totalTokens: 1300,
        cacheReadTokens: 800,
        reasoningTokens: 200,
      }),
    ).toEqual({
      input_tokens: 1000,
      output_tokens: 300,
      total_tokens: 1300,
      cached_tokens: 800,
      reasoning_tokens: 200,
    });
  });
});

describe('toTransactions: dedupe and attribution across a trace', () => {
  const T = 'a'.repeat(32);
  it('bills the AI SDK provider call once, not the outer span, with the customer from the root', () => {
    const root = makeSpan({ 'fenra.billable_customer_id': 'acme' }, { traceId: T, name: 'POST /chat' });
    const outer = makeSpan(
      { 'ai.operationId': 'ai.generateText', 'ai.usage.promptTokens': 100, 'ai.usage.completionTokens': 10 },
      { traceId: T, parentSpanId: root.spanId },
    );
    const inner = makeSpan(
      {
        'ai.operationId': 'ai.generateText.doGenerate',
        'ai.model.provider': 'openai.chat',
        'ai.model.id': 'gpt-4o',
        'ai.usage.promptTokens': 100,
        'ai.usage.completionTokens': 10,
      },
      { traceId: T, parentSpanId: outer.spanId },
    );
    const r = toTransactions([inner, outer, root], { pricer });
    expect(r.transactions).toHaveLength(1);
    expect(r.transactions[0]!.context.billable_customer_id).toBe('acme');
    expect(r.transactions[0]!.span.spanId).toBe(inner.spanId);
    expect(r.skipped.map((s) => s.reason).sort()).toEqual(['aggregate', 'not_genai']);
  });

  it('double instrumentation: the inner span is billed, the wrapper is an aggregate', () => {
    const outer = makeSpan(chat({ 'gen_ai.usage.input_tokens': 10 }), {
      traceId: T,
      scope: { name: '@traceloop/instrumentation-anthropic' },
    });
    const inner = makeSpan(chat(), {
      traceId: T,
      parentSpanId: outer.spanId,
      scope: { name: 'com.anthropic.sdk.typescript' },
    });
    const r = toTransactions([inner, outer], { pricer });
    expect(r.transactions.map((t) => t.span.spanId)).toEqual([inner.spanId]);
    expect(r.llmCalls).toBe(1);
  });

  it.each([2, 20])(
    'a span given twice in one trace of %i spans is billed once, its attribution read from the first',
    (size) => {
      const root = makeSpan({ 'fenra.billable_customer_id': 'acme' }, { traceId: T, name: 'POST /chat' });
      const between = Array.from({ length: size - 2 }, () =>
        makeSpan({ 'db.system.name': 'postgresql' }, { traceId: T, parentSpanId: root.spanId }),
      );
      const call = makeSpan(chat(), { traceId: T, parentSpanId: root.spanId });
      const r = toTransactions([call, ...between, root, call, { ...root, name: 'again' }], { pricer });
      expect(r.transactions.map((t) => [t.span.spanId, t.context.billable_customer_id])).toEqual([
        [call.spanId, 'acme'],
      ]);
      const repeats = r.skipped.filter((x) => x.reason !== 'not_genai');
      expect(repeats.map((x) => [x.spanId, x.name, x.reason])).toEqual([
        [call.spanId, call.name, 'duplicate'],
        [root.spanId, 'again', 'duplicate'],
      ]);
    },
  );

  it('a wrapper without usage around a billed call is a duplicate, not missing usage', () => {
    const outer = makeSpan(
      { 'gen_ai.operation.name': 'chat', 'gen_ai.system': 'openai', 'gen_ai.request.model': 'gpt-4o' },
      { traceId: T },
    );
    const inner = makeSpan(chat(), { traceId: T, parentSpanId: outer.spanId });
    const r = toTransactions([outer, inner], { pricer });
    expect(r.transactions).toHaveLength(1);
    expect(r.skipped).toEqual([expect.objectContaining({ spanId: outer.spanId, reason: 'duplicate' })]);
  });

  it('the same provider response id on two sibling spans is billed once', () => {
    const root = makeSpan({}, { traceId: T });
    const a = makeSpan(chat({ 'gen_ai.response.id': 'r1' }), { traceId: T, parentSpanId: root.spanId });
    const b = makeSpan(chat({ 'gen_ai.response.id': 'r1' }), { traceId: T, parentSpanId: root.spanId });
    expect(toTransactions([root, a, b], { pricer }).transactions).toHaveLength(1);
  });

  it('independent calls in one trace are all billed', () => {
    const root = makeSpan({ 'user.id': 'u7' }, { traceId: T });
    const calls = [1, 2, 3].map((i) =>
      makeSpan(chat({ 'gen_ai.response.id': `r${i}` }), { traceId: T, parentSpanId: root.spanId }),
    );
    const r = toTransactions([root, ...calls], { pricer });
    expect(r.transactions).toHaveLength(3);
    expect(r.transactions.every((t) => t.context.billable_customer_id === 'u7')).toBe(true);
    expect(r.transactions[0]!.price.usd).toBeCloseTo(100 / 1e6, 12);
  });

  it('counts unattributed transactions', () => {
    const r = toTransactions([makeSpan(chat(), { traceId: 'b'.repeat(32) })], { pricer });
    expect(r.unattributed).toBe(1);
    expect(r.transactions[0]!.context.billable_customer_id).toBe('unattributed');
  });

  it('a pricer that throws gives an unpriced transaction, not an exception', () => {
    const r = toTransactions([makeSpan(chat())], {
      pricer: {
        price: () => {
          throw new Error('boom');
        },
      },
    });
    expect(r.transactions[0]!.price).toMatchObject({
      usd: null,
      source: 'unpriced',
      reason: 'pricing_error',
    });
  });

  it('when the parent chain breaks, the trace root still attributes the call', () => {
    // root (customer) → [dropped by a Collector filter or a sampler] → LLM span
    const root = makeSpan(
      { 'fenra.billable_customer_id': 'cus_root', 'http.route': '/chat' },
      { traceId: T, spanId: 'a'.repeat(16) },
    );
    const llm = makeSpan(chat(), { traceId: T, spanId: 'c'.repeat(16), parentSpanId: 'b'.repeat(16) });
    const r = toTransactions([llm, root], { pricer });
    expect(r.transactions[0]!.context.billable_customer_id).toBe('cus_root');
    expect(r.unattributed).toBe(0);
    // A nearer ancestor that is present still wins over the root.
    const mid = makeSpan(
      { 'fenra.billable_customer_id': 'cus_mid' },
      { traceId: T, spanId: 'b'.repeat(16), parentSpanId: 'd'.repeat(16) },
    );
    expect(toTransactions([llm, mid, root], { pricer }).transactions[0]!.context.billable_customer_id).toBe(
      'cus_mid',
    );
    // A local root whose parent is remote (the service sits behind a gateway) is the root too.
    const behindGateway = makeSpan(
      { 'fenra.billable_customer_id': 'cus_gw' },
      { traceId: T, spanId: 'a'.repeat(16), parentSpanId: 'f'.repeat(16), parentIsRemote: true },
    );
    const g = toTransactions([llm, behindGateway], { pricer });
    expect(g.transactions[0]!.context.billable_customer_id).toBe('cus_gw');
    // With two roots (e.g. remote parents), none is guessed.
    const other = makeSpan(
      { 'fenra.billable_customer_id': 'cus_other' },
      { traceId: T, spanId: 'e'.repeat(16) },
    );
    expect(toTransactions([llm, root, other], { pricer }).unattributed).toBe(1);
  });

  it('a span cycle in parent ids does not hang', () => {
    const a = makeSpan(chat(), { traceId: T, spanId: '1'.repeat(16), parentSpanId: '2'.repeat(16) });
    const b = makeSpan({}, { traceId: T, spanId: '2'.repeat(16), parentSpanId: '1'.repeat(16) });
    expect(toTransactions([a, b], { pricer }).transactions).toHaveLength(1);
  });
});
