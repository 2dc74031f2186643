import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Ledger, roundUsd, rowOfPriced, toRow } from '../../src/local/ledger.js';
import { describeRecord } from '../../src/local/local-mode.js';
import type { LocalRecord } from '../../src/local/records.js';
import { toLocalRecords } from '../../src/local/records.js';
import { PriceBook } from '../../src/pricing/price-book.js';
import { parseOtlpJsonText, spansFromOtlpJson } from '../../src/span/from-otlp-json.js';
import type { PricedTransaction } from '../../src/stage/priced-transaction.js';
import { toTransactions } from '../../src/stage/to-transactions.js';
import { makePriced } from '../helpers/priced.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'recorded');

const record = (
  provider: string,
  metrics: Record<string, number>,
  usd: number | null = 0.001,
): LocalRecord => ({
  transaction: {
    provider: provider as LocalRecord['transaction']['provider'],
    model: 'm',
    usage: [{ type: 'tokens', metrics }],
    context: { billable_customer_id: 'cus_1' },
  },
  price: usd === null ? null : ({ usd, source: 'catalog' } as LocalRecord['price']),
});

describe('ledger rows: tokens in one convention, with their cache and reasoning parts', () => {
  it('Anthropic-style metrics: input beside the cache, added up', () => {
    const r = toRow(
      record('anthropic', {
        input_tokens: 12,
        output_tokens: 18,
        cache_read_input_tokens: 0,
        cache_creation_input_tokens: 2400,
      }),
    );
    expect(r).toMatchObject({
      inputTokens: 2412,
      cacheReadTokens: 0,
      cacheWriteTokens: 2400,
      outputTokens: 18,
    });
  });

  it('OpenAI-style metrics: cached and written tokens are parts of the input (not added twice)', () => {
    const r = toRow(
      record('openai', {
        input_tokens: 1000,
        cached_tokens: 600,
        cache_creation_input_tokens: 100,
        output_tokens: 300,
        reasoning_tokens: 200,
      }),
    );
    expect(r).toMatchObject({
      inputTokens: 1000,
      cacheReadTokens: 600,
      cacheWriteTokens: 100,
      outputTokens: 300,
      reasoningTokens: 200,
    });
  });

  it('the console line names the cache and reasoning parts, and rounds USD', () => {
    expect(
      describeRecord(
        record(
          'anthropic',
          {
            input_tokens: 40,
            output_tokens: 25,
            cache_read_input_tokens: 2000,
            cache_creation_input_tokens: 450,
          },
          0.0010400000000000001,
        ),
      ),
    ).toBe('cus_1  anthropic/m  2490 in (2000 cache read, 450 cache write) / 25 out  $0.001040');
    expect(
      describeRecord(
        record('gemini', {
          input_tokens: 800,
          cached_tokens: 512,
          output_tokens: 550,
          reasoning_tokens: 400,
        }),
      ),
    ).toBe('cus_1  gemini/m  800 in (512 cache read) / 550 out (400 reasoning)  $0.001000');
    expect(describeRecord(record('openai', { input_tokens: 5, output_tokens: 1 }))).toBe(
      'cus_1  openai/m  5 in / 1 out  $0.001000',
    );
  });

  it('rounds USD in rows and totals: no float noise', () => {
    expect(roundUsd(0.0010400000000000001)).toBe(0.00104);
    expect(roundUsd(0.004901999999999999)).toBe(0.004902);
    const s = new Ledger()
      .addAll([
        record('openai', { input_tokens: 1, output_tokens: 1 }, 0.1),
        record('openai', { input_tokens: 1, output_tokens: 1 }, 0.2),
      ])
      .snapshot();
    expect(0.1 + 0.2).not.toBe(0.3);
    expect(s.totals.usd).toBe(0.3);
    expect(s.by.customer[0]!.totals.usd).toBe(0.3);
  });
});

describe('ledger fed with priced transactions (the sidecar in Fenra mode)', () => {
  it('has the rows, times and totals of the same transactions fed as their records', () => {
    const pricer = new PriceBook();
    const txs: PricedTransaction[] = [];
    for (const file of readdirSync(FIXTURES).filter((f) => f.endsWith('.otlp.json'))) {
      const { requests } = parseOtlpJsonText(readFileSync(join(FIXTURES, file), 'utf8'));
      txs.push(
        ...toTransactions(
          requests.flatMap((r) => spansFromOtlpJson(r).spans),
          { pricer },
        ).transactions,
      );
    }
    // Odd end times: none, and past what a Date holds (the time recorded is used).
    txs.push({ ...txs[0]!, endTimeMs: 0 }, { ...txs[1]!, endTimeMs: 9e15 });
    expect(txs.length).toBeGreaterThan(50);
    const at = Date.UTC(2026, 11, 5, 8, 30, 0, 250);
    const records = toLocalRecords(txs, at);
    expect(txs.map((t) => rowOfPriced(t, new Date(at).toISOString()))).toEqual(records.map(toRow));

    const byRecord = new Ledger({ maxRecent: 50 });
    for (const r of records) byRecord.add(r);
    const byPriced = new Ledger({ maxRecent: 50 });
    byPriced.addPriced(txs.slice(0, 40), at);
    byPriced.addPriced(txs.slice(40), at);
    expect(byPriced.snapshot()).toEqual(byRecord.snapshot());
  });

  it('reads the tokens of every usage shape as the rendered metrics give them, in each provider style', () => {
    // Parts absent, zero and set; input below its cache parts (an emitter's odd counts); cache
    // writes on an OpenAI-style provider (sent only when there were some).
    const parts = [undefined, 0, 7];
    const at = Date.UTC(2026, 11, 6, 9, 0, 0, 0);
    const txs: PricedTransaction[] = [];
    for (const provider of ['openai', 'gemini', 'anthropic', 'bedrock'] as const)
      for (const inputTokens of [0, 5, 1000])
        for (const cacheReadTokens of parts)
          for (const cacheWriteTokens of parts)
            for (const reasoningTokens of parts) {
              const usage = {
                inputTokens,
                outputTokens: 30,
                totalTokens: inputTokens + 30,
                cacheReadTokens,
                cacheWriteTokens,
                reasoningTokens,
              };
              txs.push({ ...makePriced(), provider, usage });
            }
    const records = toLocalRecords(txs, at);
    expect(txs.map((t) => rowOfPriced(t, new Date(at).toISOString()))).toEqual(records.map(toRow));
  });
});

describe('ledger chart points', () => {
  /** The points as the ledger kept them before (an array per point): the last `max`, by time. */
  function reference(points: [number, number][], max: number): [number, number][] {
    return (max > 0 ? points.slice(-max) : []).sort((a, b) => a[0] - b[0]);
  }

  it('keeps the most recent maxPoints points, sorted by time, while growing and once turned', () => {
    const at = Date.UTC(2026, 11, 5, 8, 30, 0, 0);
    for (const max of [0, 1, 5, 1024, 1500, 3000]) {
      const ledger = new Ledger({ maxPoints: max });
      const fed: [number, number][] = [];
      for (let i = 0; i < 4000; i++) {
        // Times out of order (calls end in any order), prices from the transactions.
        const end = at - ((i * 7919) % 5000);
        const tx = { ...makePriced({ usd: (i % 13) / 1000 }), endTimeMs: end };
        ledger.addPriced([tx], at);
        fed.push([end, (i % 13) / 1000]);
        if (i === 999 || i === 1024 || i === 2047 || i === 3999)
          expect(ledger.snapshot().points, `max ${max} after ${i + 1}`).toEqual(reference(fed, max));
      }
    }
  });
});
