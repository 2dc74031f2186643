import { describe, expect, it } from 'vitest';
import { detectModelCall } from '../../src/genai/detect.js';
import type { Detection } from '../../src/genai/detect.js';
import {
  ADK_LLM_RESPONSE,
  ADK_RESPONSE_USAGE_FIELDS,
  adkResponseCounts,
} from '../../src/genai/dialects/google-adk.js';
import { billingAttributeFilter } from '../../src/genai/billing-keys.js';
import { renderTransaction } from '../../src/fenra/render-transaction.js';
import { PriceBook } from '../../src/pricing/price-book.js';
import { toTransactions } from '../../src/stage/to-transactions.js';
import type { AttrValue, Attributes } from '../../src/span/span-view.js';
import { makeSpan } from '../helpers/span.js';

const usageMetadata = {
  promptTokenCount: 1400,
  candidatesTokenCount: 30,
  thoughtsTokenCount: 220,
  cachedContentTokenCount: 1024,
  totalTokenCount: 1650,
  promptTokensDetails: [{ modality: 'TEXT', tokenCount: 1400 }],
};
/** ADK 2.0.0's call_llm span: input = promptTokenCount, output = candidatesTokenCount. */
const callLlm = (response: string): Attributes => ({
  'gen_ai.system': 'gcp.vertex.agent',
  'gen_ai.request.model': 'gemini-2.5-flash',
  'gen_ai.usage.input_tokens': 1400,
  'gen_ai.usage.output_tokens': 30,
  [ADK_LLM_RESPONSE]: response,
});
const withContent = JSON.stringify({
  content: {
    role: 'model',
    parts: [
      { text: 'thinking about "usageMetadata":{"thoughtsTokenCount":999999}', thought: true },
      { functionCall: { name: 'lookup', args: { usageMetadata: { thoughtsTokenCount: 5 } } } },
    ],
  },
  usageMetadata,
  finishReason: 'STOP',
});
const scope = { name: 'gcp.vertex.agent' };
const usageOf = (d: Detection) => {
  if (!('call' in d)) throw new Error(`not a call: ${d.skipped.reason}`);
  return d.call.usage!;
};

describe('Google ADK call_llm', () => {
  it('bills Gemini thinking and cache from the response JSON, reading nothing but its usageMetadata', () => {
    const u = usageOf(detectModelCall(makeSpan(callLlm(withContent), { scope, name: 'call_llm' })));
    expect(u).toMatchObject({
      inputTokens: 1400,
      outputTokens: 250,
      cacheReadTokens: 1024,
      reasoningTokens: 220,
    });
    expect(u.reasoningMissing).toBeUndefined();
    expect(u.cacheSplitMissing).toBeUndefined();
  });

  it('gives the same counts on the JSON reduced to its usage fields (what a decode-time reduction keeps)', () => {
    const reduced = JSON.stringify({
      usageMetadata: Object.fromEntries(
        Object.keys(ADK_RESPONSE_USAGE_FIELDS.usageMetadata).map((k) => [
          k,
          usageMetadata[k as keyof typeof usageMetadata],
        ]),
      ),
    });
    expect(reduced).not.toContain('thinking');
    expect(adkResponseCounts(reduced)).toEqual(adkResponseCounts(withContent));
    // An OTLP kvlist arrives as an object.
    expect(adkResponseCounts(JSON.parse(withContent) as unknown as AttrValue)).toEqual(
      adkResponseCounts(withContent),
    );
  });

  it('a response without cached or thoughts fields states them as 0 (Gemini leaves zeros out)', () => {
    const plain = JSON.stringify({
      usageMetadata: { promptTokenCount: 10, candidatesTokenCount: 5, totalTokenCount: 15 },
    });
    const u = usageOf(detectModelCall(makeSpan(callLlm(plain), { scope })));
    expect(u).toMatchObject({ inputTokens: 10, outputTokens: 5, cacheReadTokens: 0, reasoningTokens: 0 });
    expect(u.reasoningMissing).toBeUndefined();
  });

  it('without the JSON (content capture off: "{}") bills the candidates and says thinking and cache are missing', () => {
    const [t] = toTransactions([makeSpan(callLlm('{}'), { scope, name: 'call_llm' })], {
      pricer: new PriceBook(),
    }).transactions;
    expect(t!.usage).toMatchObject({ inputTokens: 1400, outputTokens: 30 });
    const context = renderTransaction(t!).context;
    expect(context['reasoning_missing']).toBe(true);
    expect(context['cache_split_missing']).toBe(true);
    expect(adkResponseCounts('{}')).toBeUndefined();
    expect(adkResponseCounts('not json')).toBeUndefined();
  });

  it('the billing filter keeps only the usage numbers of the response JSON, and the bill is the same', () => {
    const whole = JSON.stringify({
      content: { parts: [{ text: 'SECRET-ANSWER' }, { thought: true, text: 'SECRET-THOUGHT' }] },
      usageMetadata,
      groundingMetadata: { webSearchQueries: ['SECRET-QUERY'] },
    });
    const rule = billingAttributeFilter()(ADK_LLM_RESPONSE);
    expect(rule).toBeTypeOf('function');
    const reduced = rule!(whole)!;
    expect(JSON.stringify(reduced)).not.toContain('SECRET');
    expect(reduced).toEqual({
      usageMetadata: { ...ADK_RESPONSE_USAGE_FIELDS.usageMetadata, ...pick(usageMetadata) },
    });
    const bill = (response: AttrValue) =>
      toTransactions(
        [makeSpan({ ...callLlm(''), [ADK_LLM_RESPONSE]: response }, { scope, name: 'call_llm' })],
        {
          pricer: new PriceBook(),
        },
      ).transactions.map((t) => {
        const { span_id: _, ...context } = renderTransaction(t).context;
        return { ...renderTransaction(t), context };
      });
    expect(bill(reduced)).toEqual(bill(whole));
    expect(bill(reduced)[0]!.context['reasoning_missing']).toBeUndefined();
  });
});

/** The count fields ADK's reduction keeps, as stated. */
function pick(u: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(ADK_RESPONSE_USAGE_FIELDS.usageMetadata)) if (u[k] !== undefined) out[k] = u[k];
  return out;
}
