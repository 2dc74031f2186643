import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PriceBook } from '../../src/pricing/price-book.js';
import { parseOtlpJsonText, spansFromOtlpJson } from '../../src/span/from-otlp-json.js';
import { toTransactions } from '../../src/stage/to-transactions.js';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'recorded');

/**
 * Pricing, checks and rendering read every call's usage: one object shape for all of them keeps
 * those reads monomorphic whatever dialect the call came from (see normaliseUsage).
 */
describe('Usage objects', () => {
  it('have the same keys in the same order for every recorded call, of every dialect', () => {
    const pricer = new PriceBook();
    const shapes = new Map<string, string[]>();
    let calls = 0;
    for (const file of readdirSync(DIR).filter((f) => f.endsWith('.otlp.json'))) {
      const { requests } = parseOtlpJsonText(readFileSync(join(DIR, file), 'utf8'));
      const spans = requests.flatMap((r) => spansFromOtlpJson(r).spans);
      for (const t of toTransactions(spans, { pricer }).transactions) {
        calls++;
        const keys = Object.keys(t.usage).join(',');
        shapes.set(keys, [...(shapes.get(keys) ?? []), file]);
      }
    }
    expect(calls).toBeGreaterThan(50);
    expect([...shapes.keys()]).toHaveLength(1);
  });
});
