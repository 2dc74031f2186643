/**
 * Property-based tests of the pure converter: random span trees (dangling parents, cycles,
 * repeated span records, many dialects at once) with random attribute values (negative,
 * NaN, Infinity, numeric strings, arrays, bytes, objects) never make `toTransactions` throw,
 * never produce a negative, NaN or infinite metric or price, account for every span exactly
 * once, and never bill one span, or one provider call, twice.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fenraTransactionSchema } from '../../src/fenra/transaction-schema.js';
import type { ToTransactionsOptions as ConversionOptions } from '../../src/stage/to-transactions.js';
import { toTransactions } from '../../src/stage/to-transactions.js';
import { PriceBook } from '../../src/pricing/price-book.js';
import type { AttrValue, Attributes, SpanView } from '../../src/span/span-view.js';
import { renderTransaction } from '../../src/fenra/render-transaction.js';

const options: ConversionOptions = { pricer: new PriceBook(), defaultCustomerId: 'default' };

/** Keys the dialects read, across families, so random mixes hit every reader (and conflicts). */
const MARKER_KEYS = [
  'gen_ai.operation.name',
  'gen_ai.system',
  'gen_ai.provider.name',
  'gen_ai.request.model',
  'ai.operationId',
  'openinference.span.kind',
  'llm.request.type',
  'langfuse.observation.type',
  'traceloop.span.kind',
];
const USAGE_KEYS = [
  'gen_ai.usage.input_tokens',
  'gen_ai.usage.output_tokens',
  'gen_ai.usage.prompt_tokens',
  'gen_ai.usage.completion_tokens',
  'gen_ai.usage.total_tokens',
  'gen_ai.usage.cache_read.input_tokens',
  'gen_ai.usage.cache_creation.input_tokens',
  'gen_ai.usage.cache_read_input_tokens',
  'gen_ai.usage.reasoning_tokens',
  'gen_ai.usage.details.reasoning_tokens',
  'gen_ai.usage.audio.input_tokens',
  'gen_ai.usage.image.output_tokens',
  'gen_ai.usage.prompt_tokens_details.cached_tokens',
  'gen_ai.usage.completion_tokens_details.reasoning_tokens',
  'ai.usage.inputTokens',
  'ai.usage.outputTokens',
  'ai.usage.promptTokens',
  'ai.usage.completionTokens',
  'ai.usage.cachedInputTokens',
  'ai.usage.reasoningTokens',
  'ai.usage.totalTokens',
  'llm.token_count.prompt',
  'llm.token_count.completion',
  'llm.token_count.total',
  'llm.token_count.prompt_details.cache_read',
  'llm.usage.prompt_tokens',
  'llm.usage.completion_tokens',
  'anthropic.usage.cache_creation.ephemeral_5m_input_tokens',
  'langfuse.observation.usage_details',
  'gen_ai.usage.raw',
];
const MODEL_KEYS = [
  'gen_ai.request.model',
  'gen_ai.response.model',
  'ai.model.id',
  'ai.model.provider',
  'ai.response.model',
  'llm.model_name',
  'llm.provider',
  'llm.system',
  'llm.request.model',
  'langfuse.observation.model.name',
  'gen_ai.response.id',
  'gen_ai.openai.response.service_tier',
  'gen_ai.request.service_tier',
  'aws.region',
];
const CONTEXT_KEYS = [
  'fenra.billable_customer_id',
  'fenra.feature',
  'fenra.context.team',
  'user.id',
  'enduser.id',
  'session.id',
  'gen_ai.conversation.id',
  'ai.telemetry.metadata.customerId',
  'traceloop.association.properties.customer_id',
  'langfuse.trace.metadata.customer_id',
  'http.route',
  'db.system',
];

const goodValues: Record<string, fc.Arbitrary<AttrValue>> = {
  'gen_ai.operation.name': fc.constantFrom(
    'chat',
    'text_completion',
    'embeddings',
    'generate_content',
    'invoke_agent',
    'execute_tool',
  ),
  'gen_ai.system': fc.constantFrom(
    'openai',
    'anthropic',
    'gcp.gemini',
    'aws.bedrock',
    'az.ai.openai',
    'x_ai',
    'deepseek',
    'weird',
  ),
  'gen_ai.provider.name': fc.constantFrom(
    'openai',
    'anthropic',
    'gcp.vertex_ai',
    'aws.bedrock',
    'azure.ai.openai',
    'mistral_ai',
  ),
  'ai.operationId': fc.constantFrom(
    'ai.generateText',
    'ai.generateText.doGenerate',
    'ai.streamText',
    'ai.streamText.doStream',
    'ai.embed.doEmbed',
    'ai.toolCall',
  ),
  'openinference.span.kind': fc.constantFrom('LLM', 'EMBEDDING', 'CHAIN', 'llm', 'TOOL'),
  'llm.request.type': fc.constantFrom('chat', 'completion', 'embedding'),
  'langfuse.observation.type': fc.constantFrom('generation', 'span', 'event'),
  'gen_ai.request.model': fc.constantFrom(
    'gpt-4o-mini',
    'gpt-4o',
    'claude-sonnet-4-5',
    'gemini-2.5-flash',
    'us.anthropic.claude-sonnet-4-20250514-v1:0',
    'o3',
    'x',
  ),
  'gen_ai.response.model': fc.constantFrom(
    'gpt-4o-mini-2024-07-18',
    'claude-sonnet-4-5-20250929',
    'gemini-2.5-pro',
    '',
  ),
  'ai.model.provider': fc.constantFrom(
    'openai.chat',
    'anthropic.messages',
    'google.generative-ai',
    'amazon-bedrock',
  ),
  'gen_ai.response.id': fc.constantFrom('resp-1', 'resp-2', 'chatcmpl-x'),
};

/** Anything an attribute can hold after decoding, biased towards hostile numbers. */
const anyValue: fc.Arbitrary<AttrValue> = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: -1000, max: 1_000_000 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(NaN, Infinity, -Infinity, -0, 1e308, Number.MAX_SAFE_INTEGER + 2, 0.5),
  },
  { weight: 2, arbitrary: fc.constantFrom('100', '-5', 'NaN', '1e3', '', ' 7 ', '0x10', 'abc') },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.array(fc.oneof(fc.integer(), fc.string(), fc.double()), { maxLength: 4 }) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 8 }) },
  {
    weight: 1,
    arbitrary: fc.dictionary(
      fc.constantFrom('input', 'output', 'total', 'input_tokens', 'cache_read', 'x'),
      fc.oneof(fc.integer({ min: -10, max: 10_000 }), fc.double(), fc.string({ maxLength: 5 })),
      { maxKeys: 4 },
    ) as fc.Arbitrary<AttrValue>,
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '{"input":10,"output":5}',
      '{"input":-10,"output":"x"}',
      '{"prompt_tokens":NaN}',
      '[1,2]',
      '{',
    ),
  },
);

function valueFor(key: string): fc.Arbitrary<AttrValue> {
  const good = goodValues[key];
  return good === undefined
    ? anyValue
    : fc.oneof({ weight: 3, arbitrary: good }, { weight: 1, arbitrary: anyValue });
}

const attributesArb: fc.Arbitrary<Attributes> = fc
  .tuple(
    fc.subarray(MARKER_KEYS, { maxLength: 3 }),
    fc.subarray(USAGE_KEYS, { maxLength: 6 }),
    fc.subarray(MODEL_KEYS, { maxLength: 4 }),
    fc.subarray(CONTEXT_KEYS, { maxLength: 3 }),
  )
  .chain(([a, b, c, d]) => {
    const keys = [...new Set([...a, ...b, ...c, ...d])];
    return fc.tuple(...keys.map((k) => valueFor(k))).map((values) => {
      const out: Record<string, AttrValue> = {};
      keys.forEach((k, i) => (out[k] = values[i] as AttrValue));
      return out as Attributes;
    });
  });

const SCOPES = [
  '@opentelemetry/instrumentation-openai',
  '@traceloop/instrumentation-anthropic',
  '@traceloop/instrumentation-openai',
  'opentelemetry.instrumentation.openai.v1',
  'openinference.instrumentation.openai',
  'com.anthropic.sdk.typescript',
  'ai',
  'logfire',
  'openlit.otel.tracing',
  'langfuse-sdk',
  '@opentelemetry/instrumentation-http',
  '',
];

interface SpanSpec {
  parent: number | 'none' | 'dangling' | 'self';
  attrs: Attributes;
  scope: string;
  status: 0 | 1 | 2;
  kind: 0 | 1 | 2;
  durationMs: number;
  resourceCustomer: boolean;
}

const spanSpec: fc.Arbitrary<SpanSpec> = fc.record({
  parent: fc.oneof(
    { weight: 6, arbitrary: fc.nat({ max: 20 }) },
    { weight: 1, arbitrary: fc.constantFrom('none' as const, 'dangling' as const, 'self' as const) },
  ),
  attrs: attributesArb,
  scope: fc.constantFrom(...SCOPES),
  status: fc.constantFrom(0 as const, 1 as const, 2 as const),
  kind: fc.constantFrom(0 as const, 1 as const, 2 as const),
  durationMs: fc.oneof(fc.integer({ min: 0, max: 60_000 }), fc.constant(-5)),
  resourceCustomer: fc.boolean(),
});

const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0');

/**
 * Builds one trace from specs: parent index modulo the spans before it (a tree), or none,
 * a parent that is not in the batch, or the span itself; `cycle` points the root at the last span.
 */
function buildTrace(specs: SpanSpec[], traceNo: number, cycle: boolean): SpanView[] {
  const traceId = hex(traceNo + 1, 32);
  const ids = specs.map((_, i) => hex(traceNo * 1000 + i + 1, 16));
  const t0 = Date.UTC(2025, 5, 1);
  return specs.map((s, i) => {
    let parentSpanId: string | undefined;
    if (typeof s.parent === 'number') parentSpanId = i === 0 ? undefined : ids[s.parent % i];
    else if (s.parent === 'dangling') parentSpanId = 'ffffffffffffffff';
    else if (s.parent === 'self') parentSpanId = ids[i];
    if (cycle && i === 0 && specs.length > 1) parentSpanId = ids[specs.length - 1];
    return {
      traceId,
      spanId: ids[i] as string,
      parentSpanId,
      name: `span ${i}`,
      kind: s.kind,
      startTimeMs: t0 + i,
      endTimeMs: t0 + i + s.durationMs,
      status: { code: s.status },
      attributes: s.attrs,
      resource: s.resourceCustomer
        ? { 'service.name': 'svc', 'fenra.billable_customer_id': 'res-cust' }
        : { 'service.name': 'svc' },
      scope: { name: s.scope, version: '1.0.0' },
      events: [],
    };
  });
}

const tracesArb = fc.array(
  fc.record({ specs: fc.array(spanSpec, { minLength: 1, maxLength: 10 }), cycle: fc.boolean() }),
  { minLength: 1, maxLength: 3 },
);

function checkNumbers(tx: ReturnType<typeof toTransactions>['transactions'][number]): void {
  for (const u of renderTransaction(tx).usage) {
    for (const [name, v] of Object.entries(u.metrics)) {
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
        throw new Error(
          `metric ${u.type}.${name} = ${String(v)} in ${JSON.stringify(renderTransaction(tx))}`,
        );
      }
    }
  }
  const usd = tx.price.usd;
  if (usd !== null && (!Number.isFinite(usd) || usd < 0)) throw new Error(`price ${usd}`);
}

/** Ancestors by span id inside one trace (first record of each id wins; cycles stop). */
function ancestorIds(spans: SpanView[], spanId: string): Set<string> {
  const byId = new Map<string, SpanView>();
  for (const s of spans) if (!byId.has(s.spanId)) byId.set(s.spanId, s);
  const out = new Set<string>();
  let p = byId.get(spanId)?.parentSpanId;
  while (p !== undefined && p !== spanId && !out.has(p)) {
    out.add(p);
    p = byId.get(p)?.parentSpanId;
  }
  return out;
}

describe('toTransactions (property-based)', () => {
  it('never throws, never yields a negative/NaN/infinite metric or price, and accounts for every span once', () => {
    fc.assert(
      fc.property(tracesArb, (traces) => {
        const spans = traces.flatMap((t, n) => buildTrace(t.specs, n, t.cycle));
        const result = toTransactions(spans, options);
        expect(result.spans).toBe(spans.length);
        expect(result.transactions.length + result.skipped.length).toBe(spans.length);
        expect(result.llmCalls).toBeLessThanOrEqual(spans.length);
        for (const tx of result.transactions) {
          checkNumbers(tx);
          expect(fenraTransactionSchema().safeParse(renderTransaction(tx)).success).toBe(true);
        }
        const seen = new Set<string>();
        for (const tx of result.transactions) seen.add(`${tx.span.traceId}/${tx.span.spanId}`);
        for (const s of result.skipped) seen.add(`${s.traceId}/${s.spanId}`);
        expect(seen.size).toBe(spans.length);
      }),
      { numRuns: 400, seed: 20251125 },
    );
  });

  it('never bills one span twice, nor a call and a span above it, nor one provider response twice', () => {
    fc.assert(
      fc.property(tracesArb, (traces) => {
        const spans = traces.flatMap((t, n) => buildTrace(t.specs, n, t.cycle));
        const result = toTransactions(spans, options);
        const billed = new Set<string>();
        for (const tx of result.transactions) {
          const key = `${tx.span.traceId}/${tx.span.spanId}`;
          expect(billed.has(key)).toBe(false);
          billed.add(key);
        }
        // No billed span has a billed ancestor in its trace: the wrapper is an aggregate.
        for (const tx of result.transactions) {
          const trace = spans.filter((s) => s.traceId === tx.span.traceId);
          for (const a of ancestorIds(trace, tx.span.spanId)) {
            expect(billed.has(`${tx.span.traceId}/${a}`)).toBe(false);
          }
        }
        // One provider response id is billed once per trace.
        const responses = new Set<string>();
        for (const tx of result.transactions) {
          const id = tx.context['request_id'];
          if (typeof id !== 'string') continue;
          const key = `${tx.span.traceId}/${tx.provider}/${id}`;
          expect(responses.has(key)).toBe(false);
          responses.add(key);
        }
      }),
      { numRuns: 400, seed: 7 },
    );
  });

  it('bills a span delivered twice (an exporter retry) once', () => {
    fc.assert(
      fc.property(tracesArb, fc.nat(), (traces, pick) => {
        const spans = traces.flatMap((t, n) => buildTrace(t.specs, n, t.cycle));
        const once = toTransactions(spans, options);
        const again = spans[pick % spans.length] as SpanView;
        const twice = toTransactions([...spans, { ...again }], options);
        const keys = twice.transactions.map((t) => `${t.span.traceId}/${t.span.spanId}`);
        expect(new Set(keys).size).toBe(keys.length);
        expect(twice.transactions.length).toBe(once.transactions.length);
      }),
      { numRuns: 300, seed: 99 },
    );
  });
});

describe('toTransactions regressions found by the properties', () => {
  const base: SpanView = {
    traceId: '0'.repeat(31) + '1',
    spanId: 'a'.repeat(16),
    parentSpanId: undefined,
    name: 'chat gpt-4o-mini',
    kind: 2,
    startTimeMs: Date.UTC(2025, 5, 1),
    endTimeMs: Date.UTC(2025, 5, 1) + 900,
    status: { code: 0 },
    attributes: {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.usage.input_tokens': 100,
      'gen_ai.usage.output_tokens': 20,
    },
    resource: {},
    scope: { name: '@opentelemetry/instrumentation-openai' },
    events: [],
  };

  it('bills the same span record received twice once, and says why for the copy', () => {
    const r = toTransactions([base, { ...base }], options);
    expect(r.transactions).toHaveLength(1);
    expect(r.skipped).toEqual([expect.objectContaining({ spanId: base.spanId, reason: 'duplicate' })]);
    expect(r.spans).toBe(2);
  });

  it('leaves an absurd usage unpriced instead of pricing it at Infinity', () => {
    const span = {
      ...base,
      attributes: {
        ...base.attributes,
        'gen_ai.usage.output_tokens': 1e308,
        'gen_ai.usage.input_tokens': 1e308,
      },
    };
    const r = toTransactions([span], options);
    for (const t of r.transactions) {
      expect(t.price.usd === null || Number.isFinite(t.price.usd)).toBe(true);
      if (t.price.usd === null) expect(t.price.reason).toBeDefined();
    }
  });
});
