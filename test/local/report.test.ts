import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { LocalSink } from '../../src/local/sink.js';
import { makePriced } from '../helpers/priced.js';
import { renderTransaction } from '../../src/fenra/render-transaction.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fenra-report-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function run(argv: string[], env: Record<string, string> = {}, stdin?: string) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const input = new PassThrough();
  input.end(stdin ?? '');
  const code = await main(argv, { stdout, stderr, env, stdin: input });
  return { code, out, err };
}

/** Table rows as arrays of cells (columns are separated by two or more spaces). */
function rows(out: string): string[][] {
  return out
    .split('\n')
    .filter((l) => l && !/^-+/.test(l) && !l.startsWith('Transactions in'))
    .map((l) => l.trim().split(/\s{2,}/));
}

describe('fenra-otel report', () => {
  it('totals the local sink per customer, with a TOTAL row and unpriced notes', async () => {
    const sink = new LocalSink({ dir });
    await sink.append([
      makePriced({ customer: 'acme', model: 'gpt-4o', usd: 0.125 }),
      makePriced({ customer: 'acme', model: 'gpt-4o-mini', usd: 0.5 }),
      makePriced({ customer: 'globex', model: 'gpt-4o', usd: null }),
    ]);
    const r = await run(['report'], { FENRA_DATA_DIR: dir });
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    const t = rows(r.out);
    expect(t[0]).toEqual([
      'CUSTOMER',
      'TRANSACTIONS',
      'INPUT TOKENS',
      'OUTPUT TOKENS',
      'EST. USD',
      'UNPRICED',
    ]);
    expect(t[1]!.slice(0, 2)).toEqual(['acme', '2']);
    expect(t[1]![4]).toBe('$0.625000');
    expect(t[2]!.slice(0, 2)).toEqual(['globex', '1']);
    expect(t[2]![4]).toBe('$0.000000');
    expect(t[2]![5]).toBe('1');
    expect(t[3]![0]).toBe('TOTAL');
    expect(t[3]![1]).toBe('3');
    expect(t[3]![4]).toBe('$0.625000');
    expect(r.out).toContain('1 unpriced transaction(s) are not in EST. USD: unknown_model=1');
  });

  it('reads convert output from a file or standard input, by model, and as JSON', async () => {
    const lines = [makePriced({ model: 'gpt-4o', usd: 1 }), makePriced({ model: 'o3', usd: 2 })]
      .map((t) => JSON.stringify({ transaction: renderTransaction(t), price: t.price }))
      .join('\n');
    const file = join(dir, 'converted.jsonl');
    writeFileSync(file, lines + '\n');
    const byModel = await run(['report', file, '--by', 'model']);
    expect(rows(byModel.out).map((r) => [r[0], r[4]])).toEqual([
      ['MODEL', 'EST. USD'],
      ['o3', '$2.000000'],
      ['gpt-4o', '$1.000000'],
      ['TOTAL', '$3.000000'],
    ]);
    const json = await run(['report', '-', '--json', '--by', 'feature'], {}, lines);
    const parsed = JSON.parse(json.out) as { totals: { usd: number }; rows: { key: string }[] };
    expect(parsed.totals.usd).toBe(3);
    expect(parsed.rows.map((x) => x.key)).toEqual(['(none)']);
  });

  it('says how to get data when the sink does not exist, and refuses a bad --by', async () => {
    const missing = await run(['report'], { FENRA_DATA_DIR: join(dir, 'nope') });
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/does not exist yet.*npm start/s);
    const bad = await run(['report', '--by', 'colour']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--by takes customer, model, feature, provider');
  });

  it('skips unreadable lines with a warning', async () => {
    const t = makePriced({ usd: 0.5 });
    const file = join(dir, 'mixed.jsonl');
    writeFileSync(
      file,
      `${JSON.stringify({ transaction: renderTransaction(t), price: t.price })}\nnot json\n`,
    );
    const r = await run(['report', file]);
    expect(r.code).toBe(0);
    expect(r.err).toContain('skipped line 2: not JSON');
    expect(rows(r.out).at(-1)![4]).toBe('$0.500000');
  });
});

describe('fenra-otel report: known cache gaps', () => {
  it('counts the transactions whose instrumentation drops the cache split (convert → report)', async () => {
    const fixtures = join(import.meta.dirname, '..', 'fixtures', 'recorded');
    const converted = await run(['convert', join(fixtures, 'openai-chat.otlp.json')]);
    expect(converted.code).toBe(0);
    const file = join(dir, 'tx.jsonl');
    writeFileSync(file, converted.out);
    const text = await run(['report', file]);
    expect(text.out).toContain('1 transaction(s) come from an instrumentation known to drop the cached part');
    const json = await run(['report', file, '--json']);
    expect(JSON.parse(json.out).cacheSplitMissing).toBe(1);
    // A trace whose calls get their split (ADOT's chat spans, from the turn span above them)
    // says nothing of the kind.
    const clean = await run(['convert', join(fixtures, 'openai-agents-adot.otlp.json')]);
    writeFileSync(file, clean.out);
    expect(JSON.parse((await run(['report', file, '--json'])).out).cacheSplitMissing).toBe(0);
  });

  it('counts the transactions billed without the reasoning tokens their instrumentation leaves out', async () => {
    const fixtures = join(import.meta.dirname, '..', 'fixtures', 'recorded');
    const converted = await run(['convert', join(fixtures, 'openai-agents-adot.otlp.json')]);
    const lines = converted.out.trim().split('\n');
    expect(lines.length).toBeGreaterThan(1);
    // One call as Google ADK bills it with content capture off (output without thinking).
    const first = JSON.parse(lines[0]!) as { transaction: { context: Record<string, unknown> } };
    first.transaction.context['reasoning_missing'] = true;
    const file = join(dir, 'reasoning.jsonl');
    writeFileSync(file, [JSON.stringify(first), ...lines.slice(1)].join('\n') + '\n');
    const text = await run(['report', file]);
    expect(text.out).toContain('1 transaction(s) come from an instrumentation that leaves reasoning');
    expect(JSON.parse((await run(['report', file, '--json'])).out).reasoningMissing).toBe(1);
  });
});
