import { describe, expect, it } from 'vitest';
import type { Pricer } from '../../src/pricing/types.js';
import type { Attributes, SpanView } from '../../src/span/span-view.js';
import type { StageOptions, StageResult } from '../../src/stage/conversion-stage.js';
import { ConversionStage } from '../../src/stage/conversion-stage.js';
import { StageTimer } from '../../src/stage/stage-timer.js';
import { ManualScheduler } from '../helpers/manual-scheduler.js';
import { makeSpan } from '../helpers/span.js';

const pricer: Pricer = { price: () => ({ usd: 0.5, source: 'catalog', catalog: 'test' }) };

let seq = 0;
const id16 = (): string => (++seq).toString(16).padStart(16, '0');

/** A fresh trace id and span makers inside it. */
function traceOf(n: number): {
  root: (attrs?: Attributes) => SpanView;
  span: (parent: SpanView, attrs?: Attributes) => SpanView;
  llm: (parent: SpanView | undefined, over?: Attributes) => SpanView;
} {
  const traceId = (1000 + n).toString(16).padStart(32, '0');
  return {
    root: (attrs = {}) => makeSpan(attrs, { traceId, spanId: id16(), name: 'request' }),
    span: (parent, attrs = {}) =>
      makeSpan(attrs, { traceId, spanId: id16(), parentSpanId: parent.spanId, name: 'app' }),
    llm: (parent, over = {}) =>
      makeSpan(
        {
          'gen_ai.operation.name': 'chat',
          'gen_ai.provider.name': 'openai',
          'gen_ai.request.model': 'gpt-4o',
          'gen_ai.usage.input_tokens': 10,
          'gen_ai.usage.output_tokens': 2,
          ...over,
        },
        { traceId, spanId: id16(), parentSpanId: parent?.spanId, name: 'chat gpt-4o' },
      ),
  };
}

function stage(over: Partial<StageOptions<number>> = {}): {
  stage: ConversionStage<number>;
  results: StageResult<number>[];
  clock: ManualScheduler;
  timer: StageTimer;
} {
  const clock = new ManualScheduler();
  const results: StageResult<number>[] = [];
  const s = new ConversionStage<number>({
    conversion: {},
    pricer,
    now: clock.now,
    onResult: (r) => results.push(r),
    ...over,
  });
  const timer = new StageTimer(s, clock, (e) => {
    throw e;
  });
  return { stage: s, results, clock, timer };
}

const customers = (results: StageResult<number>[]): string[] =>
  results.flatMap((r) => r.transactions.map((t) => t.context.billable_customer_id));

describe('ConversionStage: trace holding', () => {
  it('holds a call until its root arrives in a later delivery, then bills the root customer', () => {
    const { stage: s, results } = stage();
    const t = traceOf(1);
    const root = t.root({ 'fenra.billable_customer_id': 'acme' });
    const llm = t.llm(root);
    s.ingest([llm]);
    expect(results).toEqual([]);
    expect(s.heldTraces).toBe(1);
    s.ingest([root]);
    expect(customers(results)).toEqual(['acme']);
    expect(results[0]!.cause).toBe('root');
    expect(s.heldTraces).toBe(0);
  });

  it('resolves a trace whose root never comes when its wait expires, not before', () => {
    const { stage: s, results, clock, timer } = stage({ waitMillis: 5_000 });
    const t = traceOf(2);
    s.ingest([t.llm(t.root())]);
    timer.kick();
    clock.advance(4_999);
    expect(results).toEqual([]);
    clock.advance(1);
    expect(customers(results)).toEqual(['unattributed']);
    expect(results[0]!.cause).toBe('timeout');
  });

  it('a call arriving after its root waits the settle time for the spans around it', () => {
    const { stage: s, results, clock, timer } = stage({ waitMillis: 5_000, settleMillis: 1_000 });
    const t = traceOf(3);
    const root = t.root({ 'customer.id': 'late-co' });
    const wrapper = t.llm(root);
    const client = t.llm(wrapper);
    s.ingest([root]);
    s.ingest([client]);
    timer.kick();
    clock.advance(500);
    s.ingest([wrapper]); // its wrapper, within the settle time: one call
    timer.kick();
    expect(results).toEqual([]);
    clock.advance(499);
    expect(results).toEqual([]);
    clock.advance(1);
    expect(customers(results)).toEqual(['late-co']);
    expect(results[0]!.transactions[0]!.span.spanId).toBe(client.spanId);
    expect(results[0]!.skipped.map((x) => x.reason)).toEqual(['aggregate']);
  });

  it('spans of one delivery arrive together whatever their order (root first)', () => {
    const { stage: s, results } = stage();
    const t = traceOf(4);
    const root = t.root({ 'customer.id': 'c4' });
    const app = t.span(root, { 'user.id': 'u4' });
    const llm = t.llm(app);
    s.ingest([root, app, llm]);
    expect(customers(results)).toEqual(['c4']);
    expect(results[0]!.transactions[0]!.context['user_id']).toBe('u4');
  });

  it('an app span that ended (and left) before its call arrived still attributes it', () => {
    const { stage: s, results } = stage();
    const t = traceOf(5);
    const root = t.root();
    const app = t.span(root, { 'fenra.billable_customer_id': 'from-app' });
    s.ingest([app]); // no call yet: not held, remembered
    s.ingest([t.llm(app), root]);
    expect(customers(results)).toEqual(['from-app']);
  });

  it('a call whose parent never arrives (dropped by a sampler) gets the trace root customer', () => {
    const { stage: s, results } = stage();
    const t = traceOf(6);
    const root = t.root({ 'fenra.billable_customer_id': 'root-co' });
    const dropped = t.span(root);
    s.ingest([t.llm(dropped), root]);
    expect(customers(results)).toEqual(['root-co']);
  });

  it('bounds the traces it holds: past maxTraces the oldest is resolved', () => {
    const { stage: s, results } = stage({ maxTraces: 2 });
    for (let n = 10; n < 13; n++) {
      const t = traceOf(n);
      s.ingest([t.llm(t.root())]);
    }
    expect(results.map((r) => r.cause)).toEqual(['overflow']);
    expect(s.heldTraces).toBe(2);
    s.flush();
    expect(results.map((r) => r.cause)).toEqual(['overflow', 'flush', 'flush']);
  });

  it('reports which deliveries (tags) each resolution used, once per trace', () => {
    const { stage: s, results } = stage();
    const a = traceOf(20);
    const b = traceOf(21);
    const ra = a.root();
    const rb = b.root();
    expect(s.add(s.admit([a.llm(ra), b.llm(rb)], false), 1)).toBe(2);
    expect(s.add(s.admit([ra], false), 2)).toBe(1);
    expect(results.map((r) => r.tags)).toEqual([[1, 2]]);
    s.flush();
    expect(results.map((r) => r.tags)).toEqual([[1, 2], [1]]);
  });

  it('counts a trace as held while a delivery of it is stored, also after every delivery left', () => {
    const { stage: s } = stage();
    const a = traceOf(22);
    const b = traceOf(23);
    const ra = a.root();
    const first = s.admit([a.llm(ra)], false);
    const second = s.admit([a.llm(ra)], false);
    expect(s.isHeld(ra.traceId)).toBe(true);
    s.abandon(first);
    expect(s.isHeld(ra.traceId)).toBe(true); // the second is still being stored
    s.abandon(second);
    expect(s.isHeld(ra.traceId)).toBe(false);
    // Every delivery left (its bookkeeping starts again): later ones are counted the same.
    const rb = b.root();
    const third = s.admit([b.llm(rb)], false);
    expect(s.isHeld(rb.traceId)).toBe(true);
    expect(s.add(third, 3)).toBe(1);
    expect(s.isHeld(rb.traceId)).toBe(true); // now held by the holder, waiting for its root
    s.add(s.admit([rb], false), 4);
    expect(s.isHeld(rb.traceId)).toBe(false);
  });
});

describe('ConversionStage: one provider call billed once, also across deliveries', () => {
  it('a wrapper with usage that ends before its client span: billed once', () => {
    const { stage: s, results } = stage();
    const t = traceOf(30);
    const root = t.root({ 'customer.id': 'w' });
    const wrapper = t.llm(root, { 'gen_ai.usage.input_tokens': 10 });
    const client = t.llm(wrapper);
    s.ingest([wrapper]);
    s.ingest([client]);
    s.ingest([root]);
    expect(results.flatMap((r) => r.transactions.map((x) => x.span.spanId))).toEqual([client.spanId]);
  });

  it('the same provider response id in different traces is billed in each', () => {
    const { stage: s, results } = stage();
    for (let n = 40; n < 45; n++) {
      const t = traceOf(n);
      const root = t.root();
      s.ingest([t.llm(root, { 'gen_ai.response.id': 'chatcmpl-same' }), root]);
    }
    expect(results.flatMap((r) => r.transactions)).toHaveLength(5);
  });

  it('within one trace, a response id seen twice is one call', () => {
    const { stage: s, results } = stage();
    const t = traceOf(46);
    const root = t.root();
    s.ingest([
      t.llm(root, { 'gen_ai.response.id': 'r1' }),
      t.llm(root, { 'gen_ai.response.id': 'r1' }),
      root,
    ]);
    expect(results.flatMap((r) => r.transactions)).toHaveLength(1);
  });

  it('a call arriving after a wrapper of it was billed is not billed again', () => {
    const { stage: s, results, clock, timer } = stage({ settleMillis: 100 });
    const t = traceOf(50);
    const root = t.root();
    const wrapper = t.llm(root);
    s.ingest([wrapper, root]);
    expect(results.flatMap((r) => r.transactions)).toHaveLength(1);
    s.ingest([t.llm(wrapper)]);
    timer.kick();
    clock.advance(100);
    expect(results.flatMap((r) => r.transactions)).toHaveLength(1);
    expect(results[1]!.skipped.map((x) => x.reason)).toEqual(['duplicate']);
  });

  it('a wrapper arriving after the call below it was billed is an aggregate', () => {
    const { stage: s, results, clock, timer } = stage({ settleMillis: 100 });
    const t = traceOf(51);
    const root = t.root();
    const wrapper = t.llm(root);
    const client = t.llm(wrapper);
    s.ingest([client, root]);
    s.ingest([wrapper]);
    timer.kick();
    clock.advance(100);
    expect(results.flatMap((r) => r.transactions.map((x) => x.span.spanId))).toEqual([client.spanId]);
    expect(results[1]!.skipped.map((x) => x.reason)).toEqual(['aggregate']);
  });

  it('a call delivered again after its trace was billed is a duplicate', () => {
    const { stage: s, results } = stage();
    const t = traceOf(52);
    const root = t.root();
    const llm = t.llm(root);
    s.ingest([llm, root]);
    s.ingest([llm, root]);
    expect(results.flatMap((r) => r.transactions)).toHaveLength(1);
    expect(s.stats.skipped.duplicate).toBe(1);
  });

  it('counts every call: billed, unattributed, skipped by reason', () => {
    const { stage: s } = stage();
    const t = traceOf(53);
    const root = t.root();
    s.ingest([
      t.llm(root),
      t.llm(root, { 'gen_ai.usage.input_tokens': undefined, 'gen_ai.usage.output_tokens': undefined }),
      root,
    ]);
    expect(s.stats).toMatchObject({ llmCalls: 2, billed: 1, unattributed: 1, skipped: { missing_usage: 1 } });
  });
});
