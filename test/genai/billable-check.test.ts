import { describe, expect, it } from 'vitest';
import { renderTransaction } from '../../src/fenra/render-transaction.js';
import { PriceBook } from '../../src/pricing/price-book.js';
import type { AttrValue } from '../../src/span/span-view.js';
import type { ToTransactionsOptions } from '../../src/stage/to-transactions.js';
import { toTransactions } from '../../src/stage/to-transactions.js';
import { makeSpan } from '../helpers/span.js';

/** Counts are whole numbers 0 ≤ n < 2^53 under a ceiling; model ids and context values are bounded. */
const pricer = new PriceBook();
const chat = (attrs: Record<string, AttrValue>) =>
  makeSpan({
    'gen_ai.operation.name': 'chat',
    'gen_ai.provider.name': 'openai',
    'gen_ai.request.model': 'gpt-4o',
    'gen_ai.usage.input_tokens': 10,
    'gen_ai.usage.output_tokens': 2,
    ...attrs,
  });
function convert(attrs: Record<string, AttrValue>, options: Partial<ToTransactionsOptions> = {}) {
  const r = toTransactions([chat(attrs)], { pricer, ...options });
  return { ...r, bodies: r.transactions.map((t) => renderTransaction(t)) };
}

describe('usage counts: integers in a sane range, or the call is invalid_usage', () => {
  it.each<[string, AttrValue]>([
    ['NaN', NaN],
    ['Infinity', Infinity],
    ['-Infinity', -Infinity],
    ['-5', -5],
    ['"12abc"', '12abc'],
    ['"1e400"', '1e400'],
    ['"1e3"', '1e3'],
    ['1.5', 1.5],
    ['2^63 as a number', 2 ** 63],
    ['2^63 as OTLP int64 digits', '9223372036854775808'],
    ['2^53', 2 ** 53],
    ['1e308', 1e308],
    ['a boolean', true],
    ['an array', [1]],
  ])('input tokens %s', (_label, value) => {
    const r = convert({ 'gen_ai.usage.input_tokens': value });
    expect(r.transactions).toEqual([]);
    expect(r.skipped.map((s) => s.reason)).toEqual(['invalid_usage']);
    expect(r.skipped[0]!.detail).toMatch(/not a token count/);
    // A call all the same (counted), never billed as 0 nor as a huge number.
    expect(r.llmCalls).toBe(1);
  });

  it('a bad part (cache, reasoning) makes the call invalid too', () => {
    for (const [k, v] of [
      ['gen_ai.usage.cache_read.input_tokens', -3],
      ['gen_ai.usage.reasoning.output_tokens', 0.5],
    ] as const) {
      const r = convert({ [k]: v });
      expect(
        r.skipped.map((s) => s.reason),
        k,
      ).toEqual(['invalid_usage']);
      expect(r.skipped[0]!.detail).toContain(k);
    }
  });

  it('counts inside a JSON usage object are checked the same way', () => {
    const r = toTransactions(
      [
        makeSpan({
          'ai.operationId': 'ai.generateText.doGenerate',
          'ai.model.provider': 'anthropic.messages',
          'ai.model.id': 'claude-sonnet-4-20250514',
          'ai.usage.inputTokens': 12,
          'ai.usage.outputTokens': 3,
          'ai.response.providerMetadata': JSON.stringify({ anthropic: { usage: { input_tokens: 1.5 } } }),
        }),
      ],
      { pricer },
    );
    expect(r.skipped.map((s) => s.reason)).toEqual(['invalid_usage']);
  });

  it('whole numbers as numbers or int64 digits are billed; -1 (unknown) is not stated', () => {
    expect(convert({ 'gen_ai.usage.input_tokens': '12' }).bodies[0]!.usage[0]!.metrics).toMatchObject({
      input_tokens: 12,
    });
    expect(
      convert(
        { 'gen_ai.usage.input_tokens': 2 ** 53 - 1, 'gen_ai.usage.output_tokens': 0 },
        { maxTokensPerCall: 2 ** 53 - 1 },
      ).bodies,
    ).toHaveLength(1);
    const unknown = convert({ 'gen_ai.usage.input_tokens': -1, 'gen_ai.usage.output_tokens': -1 });
    expect(unknown.skipped.map((s) => s.reason)).toEqual(['missing_usage']);
  });

  it('above the per-call ceiling the call is invalid_usage; the operator can raise it', () => {
    const big = { 'gen_ai.usage.input_tokens': 150_000_000 };
    const r = convert(big);
    expect(r.skipped.map((s) => s.reason)).toEqual(['invalid_usage']);
    expect(r.skipped[0]!.detail).toContain('maxTokensPerCall');
    expect(convert(big, { maxTokensPerCall: 200_000_000 }).bodies[0]!.usage[0]!.metrics).toMatchObject({
      input_tokens: 150_000_000,
    });
    // A sum over the ceiling (input + cache the emitter left out) is caught after normalisation.
    const sum = convert(
      { 'gen_ai.usage.input_tokens': 60, 'gen_ai.usage.cache_read.input_tokens': 100 },
      { maxTokensPerCall: 150 },
    );
    expect(sum.skipped.map((s) => s.reason)).toEqual(['invalid_usage']);
  });
});

describe('model ids, provider spellings and context values are bounded', () => {
  it('a model id longer than 256 characters is not billed (a 15 MB one neither)', () => {
    for (const model of ['m'.repeat(257), 'm'.repeat(15 * 1024 * 1024)]) {
      const r = convert({ 'gen_ai.request.model': model });
      expect(r.transactions).toEqual([]);
      expect(r.skipped.map((s) => [s.reason, s.detail])).toEqual([
        ['invalid', 'the model id is longer than 256 characters'],
      ]);
    }
    expect(convert({ 'gen_ai.request.model': 'm'.repeat(256) }).skipped).toEqual([]);
  });

  it('a long provider spelling and context values are cut to 256 characters', () => {
    const r = convert(
      {
        'gen_ai.provider.name': 'p'.repeat(100_000),
        'fenra.billable_customer_id': 'c'.repeat(100_000),
        'gen_ai.response.id': 'r'.repeat(100_000),
        'fenra.context.team': 't'.repeat(100_000),
      },
      { contextKeys: [] },
    );
    expect(r.bodies).toHaveLength(1);
    const body = JSON.stringify(r.bodies[0]);
    expect(body.length).toBeLessThan(4000);
    for (const v of Object.values(r.transactions[0]!.context))
      if (typeof v === 'string') expect(v.length).toBeLessThanOrEqual(256);
  });
});
