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
      const keep = billingAttributeFilter(options);
      const full = toTransactions(spansFromOtlpJson(json).spans, options);
      const fromJson = toTransactions(spansFromOtlpJson(json, keep).spans, options);
      const proto = ProtobufTraceSerializer.serializeRequest(
        readableSpans(json as Parameters<typeof readableSpans>[0]),
      )!;
      const fromProto = toTransactions(decodeTraceRequest(proto, keep).spans, options);
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
    const keep = billingAttributeFilter({ contextKeys: ['app.plan'] });
    for (const k of [
      'gen_ai.input.messages',
      'gen_ai.output.messages',
      'gen_ai.prompt.0.content',
      'ai.prompt.messages',
      'input.value',
      'http.request.body',
      'db.query.text',
    ]) {
      expect(keep(k), k).toBe(false);
    }
    for (const k of [
      'gen_ai.usage.input_tokens',
      'fenra.billable_customer_id',
      'fenra.context.team',
      'app.plan',
      'deployment.environment.name',
      'ai.response.providerMetadata',
    ]) {
      expect(keep(k), k).toBe(true);
    }
    const json = recordedFixtures().find((f) => f.name === 'vercel-ai6-openai-tools')!.json;
    const spans = spansFromOtlpJson(json, keep).spans;
    expect(spans.every((s) => s.events.length === 0)).toBe(true);
    expect(spans.some((s) => 'ai.prompt.messages' in s.attributes)).toBe(false);
  });
});
