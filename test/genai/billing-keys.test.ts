import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { describe, expect, it } from 'vitest';
import { billingAttributeFilter } from '../../src/genai/billing-keys.js';
import type { ToTransactionsOptions as ConversionOptions } from '../../src/stage/to-transactions.js';
import { toTransactions } from '../../src/stage/to-transactions.js';
import { PriceBook } from '../../src/pricing/price-book.js';
import { spansFromOtlpJson } from '../../src/span/from-otlp-json.js';
import { decodeTraceRequest } from '../../src/span/otlp-proto.js';
import { readableSpans, recordedFixtures } from '../sidecar/otlp-replay.js';
import { renderTransaction } from '../../src/fenra/render-transaction.js';
import type { AttrValue } from '../../src/span/span-view.js';
import { slimSpan } from '../../src/stage/span-memory.js';
import { makeSpan } from '../helpers/span.js';

const pricer = new PriceBook();
const configs: [string, ConversionOptions][] = [
  ['defaults', { pricer }],
  [
    'custom customer keys and an allow-list',
    {
      pricer,
      customerIdKeys: ['app.tenant', 'user.id'],
      contextKeys: ['http.route', 'gen_ai.request.temperature', 'app.plan'],
    },
  ],
];

describe('billingAttributeFilter: decoding only what billing reads changes nothing', () => {
  for (const [label, options] of configs) {
    it.each(recordedFixtures().map((f) => [f.name, f.json] as const))(`${label}: %s`, (_name, json) => {
      const filter = billingAttributeFilter(options);
      const full = toTransactions(spansFromOtlpJson(json).spans, options);
      const fromJson = toTransactions(spansFromOtlpJson(json, filter).spans, options);
      const proto = ProtobufTraceSerializer.serializeRequest(
        readableSpans(json as Parameters<typeof readableSpans>[0]),
      )!;
      const fromProto = toTransactions(decodeTraceRequest(proto, filter).spans, options);
      const strip = (r: typeof full) => ({
        tx: r.transactions.map((t) => ({ transaction: renderTransaction(t), price: t.price })),
        skipped: r.skipped.map((s) => [s.spanId, s.reason]),
        llmCalls: r.llmCalls,
        unattributed: r.unattributed,
      });
      expect(strip(fromJson)).toEqual(strip(full));
      expect(strip(fromProto)).toEqual(strip(full));
    });
  }

  it('keeps no content and no unknown attribute, and no events', () => {
    const filter = billingAttributeFilter({ contextKeys: ['app.plan'] });
    for (const k of [
      'gen_ai.input.messages',
      'gen_ai.output.messages',
      'gen_ai.prompt.0.content',
      'ai.prompt.messages',
      'input.value',
      'http.request.body',
      'db.query.text',
      'process.command_line',
      'process.command_args',
      'api_key',
      'http.request.header.authorization',
      'fenra.context.' + 'x'.repeat(200),
    ]) {
      expect(filter(k), k).toBeUndefined();
    }
    for (const k of [
      'gen_ai.usage.input_tokens',
      'fenra.billable_customer_id',
      'fenra.context.team',
      'app.plan',
      'deployment.environment.name',
      'ai.response.providerMetadata',
      'gcp.vertex.agent.llm_response',
      'service.name',
      'cloud.region',
    ]) {
      expect(filter(k), k).toBeDefined();
    }
    const json = recordedFixtures().find((f) => f.name === 'vercel-ai6-openai-tools')!.json;
    const spans = spansFromOtlpJson(json, filter).spans;
    expect(spans.every((s) => s.events.length === 0)).toBe(true);
    expect(spans.some((s) => 'ai.prompt.messages' in s.attributes)).toBe(false);
  });

  it('filters resource attributes with the same allow-list, and keeps no status message', () => {
    const request = {
      resourceSpans: [
        {
          resource: {
            attributes: [
              kv('service.name', 'svc'),
              kv('deployment.environment.name', 'prod'),
              kv('process.command_line', 'node app.js --api-key=SECRET-CMD'),
              kv('process.command_args', ['node', '--token', 'SECRET-ARG']),
              kv('api_key', 'SECRET-KEY'),
            ],
          },
          scopeSpans: [
            {
              scope: { name: 'test' },
              spans: [
                {
                  traceId: '0af7651916cd43dd8448eb211c80319c',
                  spanId: 'b7ad6b7169203331',
                  name: 'chat',
                  startTimeUnixNano: '1750000000000000000',
                  endTimeUnixNano: '1750000001000000000',
                  status: { code: 2, message: 'SECRET-STATUS: the prompt was …' },
                  attributes: [kv('gen_ai.system', 'openai'), kv('gen_ai.prompt', 'SECRET-PROMPT')],
                  events: [{ name: 'gen_ai.user.message', attributes: [kv('content', 'SECRET-EVENT')] }],
                },
              ],
            },
          ],
        },
      ],
    };
    const filter = billingAttributeFilter();
    const [fromJson] = spansFromOtlpJson(request, filter).spans;
    expect(fromJson!.resource).toEqual({ 'service.name': 'svc', 'deployment.environment.name': 'prod' });
    expect(fromJson!.attributes).toEqual({ 'gen_ai.system': 'openai' });
    expect(fromJson!.status).toEqual({ code: 2 });
    expect(fromJson!.events).toEqual([]);
    // The unfiltered span slimmed by the stage's slimSpan gives the same span.
    const [full] = spansFromOtlpJson(request).spans;
    expect(JSON.stringify(full)).toContain('SECRET');
    const slim = slimSpan(full!, filter);
    expect(slim).toEqual(fromJson);
    expect(JSON.stringify(slim)).not.toContain('SECRET');
    expect(slimSpan(slim, filter)).toBe(slim);
  });

  it('reduces attributes holding content beside their numbers to the numbers', () => {
    const filter = billingAttributeFilter();
    const reduce = (key: string, v: AttrValue): AttrValue | undefined => filter(key)?.(v);
    const meta = JSON.stringify({
      google: {
        usageMetadata: { promptTokenCount: 12, candidatesTokenCount: 3, thoughtsTokenCount: 'x' },
        groundingMetadata: { webSearchQueries: ['SECRET-QUERY'] },
        safetyRatings: [{ category: 'SECRET' }],
      },
      openai: { logprobs: [{ token: 'SECRET-TOKEN' }], reasoningTokens: 4 },
    });
    const reduced = reduce('ai.response.providerMetadata', meta);
    expect(reduced).toEqual({
      google: {
        usageMetadata: { promptTokenCount: 12, candidatesTokenCount: 3, thoughtsTokenCount: 'not a count' },
      },
      openai: { reasoningTokens: 4 },
    });
    // Idempotent: reducing again changes nothing.
    expect(reduce('ai.response.providerMetadata', reduced!)).toBe(reduced);
    expect(reduce('request_data', '{"messages":[{"content":"SECRET"}],"stream": true}')).toBe(
      '{"stream":true}',
    );
    expect(reduce('request_data', '{"messages":[{"content":"SECRET"}]}')).toBe('');
    expect(reduce('logfire.msg', 'Chat Completion with SECRET')).toBe('');
    expect(
      reduce('gen_ai.usage.raw', '{"prompt_tokens":5,"completion_tokens":2,"cost":0.25,"note":"SECRET"}'),
    ).toEqual({ prompt_tokens: 5, completion_tokens: 2, cost: 0.25 });
    // Kept attributes are scalars, and bounded.
    expect((reduce('gen_ai.request.model', 'm'.repeat(5_000_000)) as string).length).toBe(1024);
    expect(reduce('gen_ai.request.model', ['SECRET'])).toEqual([]);
    expect(reduce('gen_ai.usage.input_tokens', 12)).toBe(12);
  });

  it('the reductions change no result', () => {
    const base = {
      'gen_ai.system': 'openai',
      'gen_ai.request.model': 'gpt-4o',
    };
    const cases: Record<string, AttrValue>[] = [
      {
        'ai.operationId': 'ai.generateText.doGenerate',
        'ai.model.provider': 'google.generative-ai',
        'ai.model.id': 'gemini-2.5-flash',
        'ai.usage.inputTokens': 12,
        'ai.usage.outputTokens': 3,
        'ai.response.providerMetadata': JSON.stringify({
          google: { usageMetadata: { promptTokenCount: 12, candidatesTokenCount: 2, thoughtsTokenCount: 1 } },
          other: 'SECRET',
        }),
      },
      {
        'ai.operationId': 'ai.generateText.doGenerate',
        'ai.model.provider': 'anthropic.messages',
        'ai.model.id': 'claude-sonnet-4',
        'ai.usage.inputTokens': 12,
        'ai.usage.outputTokens': 3,
        'ai.response.providerMetadata': JSON.stringify({
          anthropic: { usage: { input_tokens: 'x', output_tokens: 3, cache_creation_input_tokens: null } },
        }),
      },
      {
        ...base,
        'logfire.msg': 'SECRET',
        'logfire.span_type': 'span',
        request_data: '{"stream": true, "messages": ["SECRET"]}',
      },
      { ...base, 'logfire.span_type': 'span', 'gen_ai.usage.raw': '{"input_tokens":5,"output_tokens":-3}' },
      {
        'langfuse.observation.type': 'generation',
        'gen_ai.request.model': 'gpt-4o',
        'langfuse.observation.usage_details': '{"input":5,"output":2,"input_cached_tokens":1,"x":"SECRET"}',
      },
      { ...base, 'gen_ai.usage.input_tokens': '12abc', 'gen_ai.usage.output_tokens': 1 },
      { ...base, 'gen_ai.usage.input_tokens': [1, 2], 'gen_ai.usage.output_tokens': 1 },
      { ...base, 'gen_ai.request.model': 'x'.repeat(3000), 'gen_ai.usage.input_tokens': 1 },
    ];
    const filter = billingAttributeFilter();
    for (const attrs of cases) {
      const span = makeSpan(attrs);
      const full = toTransactions([span], { pricer });
      const filtered = toTransactions([slimSpan(span, filter)], { pricer });
      const strip = (r: typeof full) => ({
        tx: r.transactions.map((t) => renderTransaction(t)),
        skipped: r.skipped.map((s) => [s.reason, s.detail]),
      });
      expect(strip(filtered), JSON.stringify(attrs).slice(0, 200)).toEqual(strip(full));
    }
  });
});

function kv(key: string, value: string | string[]): { key: string; value: unknown } {
  return {
    key,
    value: Array.isArray(value)
      ? { arrayValue: { values: value.map((stringValue) => ({ stringValue })) } }
      : { stringValue: value },
  };
}
