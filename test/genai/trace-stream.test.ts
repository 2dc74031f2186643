import { describe, expect, it } from 'vitest';
import { toTransactions } from '../../src/genai/to-transactions.js';
import { TraceStream } from '../../src/genai/trace-stream.js';
import type { Pricer } from '../../src/pricing/types.js';
import type { SpanView } from '../../src/span/span-view.js';
import { makeSpan } from '../helpers/span.js';

const pricer: Pricer = { price: () => ({ usd: 0.5, source: 'catalog', catalog: 'test' }) };

/** A trace: root (customer) → LLM span; ids from `n`. */
function trace(n: number): { root: SpanView; llm: SpanView } {
  const traceId = n.toString(16).padStart(32, '0');
  const rootId = (2 * n).toString(16).padStart(16, '0');
  const root = makeSpan({ 'fenra.billable_customer_id': `cus_${n}` }, { traceId, spanId: rootId });
  const llm = makeSpan(
    {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.usage.input_tokens': n,
      'gen_ai.usage.output_tokens': 1,
    },
    { traceId, spanId: (2 * n + 1).toString(16).padStart(16, '0'), parentSpanId: rootId },
  );
  return { root, llm };
}

describe('TraceStream', () => {
  it('within its bound converts exactly as toTransactions on everything', () => {
    const spans = [1, 2, 3].flatMap((n) => [trace(n).llm, trace(n).root]);
    const s = new TraceStream({ pricer });
    expect(s.add(spans.slice(0, 3))).toBeUndefined();
    expect(s.add(spans.slice(3))).toBeUndefined();
    const got = s.end();
    const want = toTransactions(spans, { pricer });
    expect(got.transactions.map((t) => t.transaction)).toEqual(want.transactions.map((t) => t.transaction));
    expect(got.spans).toBe(6);
  });

  it('past its bound converts the oldest complete traces first, and later ones stay attributed', () => {
    const s = new TraceStream({ pricer }, { maxHeldSpans: 10 });
    const out: string[] = [];
    const take = (r: ReturnType<TraceStream['end']> | undefined): void => {
      for (const t of r?.transactions ?? []) out.push(String(t.transaction.context.billable_customer_id));
    };
    // LLM spans arrive a batch before their roots, as exporters send them.
    for (let n = 1; n <= 40; n++) {
      const t = trace(n);
      take(s.add([t.llm]));
      take(s.add([t.root]));
    }
    take(s.end());
    expect(out).toHaveLength(40);
    expect(out.every((c) => c !== 'unattributed')).toBe(true);
    expect(new Set(out).size).toBe(40);
  });

  it('a root whose parent is remote (behind a gateway) completes its trace', () => {
    const s = new TraceStream({ pricer }, { maxHeldSpans: 4 });
    const [a, b, c, d] = [trace(1), trace(2), trace(3), trace(4)];
    const aRoot = { ...a.root, parentSpanId: 'ff'.repeat(8), parentIsRemote: true };
    // Past the bound, trace 1 (complete: its root has a remote parent) goes first although it is
    // the newest, then the oldest incomplete one; traces 3 and 4 wait for their roots.
    const early = s.add([b.llm, c.llm, d.llm, a.llm, aRoot]);
    const customers = early?.transactions.map((t) => t.transaction.context.billable_customer_id).sort();
    expect(customers).toEqual(['cus_1', 'unattributed']);
    s.add([c.root, d.root]);
    const rest = s
      .end()
      .transactions.map((t) => t.transaction.context.billable_customer_id)
      .sort();
    expect(rest).toEqual(['cus_3', 'cus_4']);
  });

  it('bills a span delivered again after its trace was converted once', () => {
    const s = new TraceStream({ pricer }, { maxHeldSpans: 2 });
    const t1 = trace(1);
    let billed = 0;
    let duplicates = 0;
    const take = (r: ReturnType<TraceStream['end']> | undefined): void => {
      billed += r?.transactions.length ?? 0;
      duplicates += r?.skipped.filter((x) => x.reason === 'duplicate').length ?? 0;
    };
    take(s.add([t1.llm, t1.root]));
    for (let n = 2; n <= 5; n++) take(s.add([trace(n).llm, trace(n).root]));
    take(s.add([t1.llm])); // the exporter retried an old request
    take(s.end());
    expect(billed).toBe(5);
    expect(duplicates).toBe(1);
  });
});
