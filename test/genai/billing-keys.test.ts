import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { describe, expect, it } from 'vitest';
import { billingAttributeFilter } from '../../src/genai/billing-keys.js';
import { ADK_LLM_RESPONSE, ADK_RESPONSE_USAGE_FIELDS } from '../../src/genai/dialects/google-adk.js';
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

/**
 * Attributes holding content beside the numbers billing reads, which the filter cannot keep as
 * they are and has no decode-time reduction for yet: what a reduction must keep of each (count
 * fields only). Until the span adapters reduce them, a filtered decode bills these calls
 * without those numbers (and says so); with the values reduced to these fields it bills
 * exactly what the whole span does.
 */
const PENDING_REDUCTIONS: Record<string, unknown> = { [ADK_LLM_RESPONSE]: ADK_RESPONSE_USAGE_FIELDS };

/** Keeps of a JSON value only the fields of `shape` (objects followed, other values kept). */
function reduceTo(value: unknown, shape: unknown): unknown {
  if (shape === 0 || value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, sub] of Object.entries(shape as Record<string, unknown>)) {
    const v = (value as Record<string, unknown>)[k];
    if (v !== undefined) out[k] = reduceTo(v, sub);
  }
  return out;
}

/** The OTLP/JSON request with every pending attribute reduced to its count fields. */
function withPendingReductions(json: unknown): { json: unknown; reduced: number } {
  let reduced = 0;
  const copy = JSON.parse(JSON.stringify(json)) as {
    resourceSpans: {
      scopeSpans: { spans: { attributes?: { key: string; value: { stringValue?: string } }[] }[] }[];
    }[];
  };
  for (const rs of copy.resourceSpans)
    for (const ss of rs.scopeSpans)
      for (const span of ss.spans)
        for (const kv of span.attributes ?? []) {
          const shape = PENDING_REDUCTIONS[kv.key];
          if (shape === undefined || kv.value.stringValue === undefined) continue;
          kv.value.stringValue = JSON.stringify(reduceTo(JSON.parse(kv.value.stringValue), shape));
          reduced++;
        }
  return { json: copy, reduced };
}

describe('billingAttributeFilter: decoding only what billing reads changes nothing', () => {
  for (const [label, options] of configs) {
    it.each(recordedFixtures().map((f) => [f.name, f.json] as const))(`${label}: %s`, (_name, whole) => {
      const keep = billingAttributeFilter(options);
      const full = toTransactions(spansFromOtlpJson(whole).spans, options);
      // Pending reductions: the filter drops those attributes; reduced to their numbers, the
      // bill is the whole span's (checked here), and the raw values are never kept (below).
      const { json, reduced } = withPendingReductions(whole);
      if (reduced > 0) {
        const dropped = toTransactions(spansFromOtlpJson(whole, keep).spans, options);
        expect(dropped.transactions.length).toBe(full.transactions.length);
        for (const t of dropped.transactions) {
          expect(renderTransaction(t).context['reasoning_missing']).toBe(true);
          expect(renderTransaction(t).context['cache_split_missing']).toBe(true);
        }
      }
      // What the filter will keep once those attributes are reduced at decode time.
      const keepReduced = (key: string): boolean => keep(key) || Object.hasOwn(PENDING_REDUCTIONS, key);
      const fromJson = toTransactions(spansFromOtlpJson(json, keepReduced).spans, options);
      const proto = ProtobufTraceSerializer.serializeRequest(
        readableSpans(json as Parameters<typeof readableSpans>[0]),
      )!;
      const fromProto = toTransactions(decodeTraceRequest(proto, keepReduced).spans, options);
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
      // Google ADK's whole LlmResponse (content with the usage): see PENDING_REDUCTIONS.
      ADK_LLM_RESPONSE,
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
