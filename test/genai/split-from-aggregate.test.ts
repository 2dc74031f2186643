import { describe, expect, it } from 'vitest';
import { convertTrace } from '../../src/genai/convert-trace.js';
import type { Usage } from '../../src/genai/types.js';
import { ADOT_OPENAI_AGENTS_SCOPE } from '../../src/genai/dialects/adot-openai-agents.js';
import type { Attributes, SpanView } from '../../src/span/span-view.js';
import { SpanKind } from '../../src/span/span-view.js';
import { makeSpan } from '../helpers/span.js';

const adot = { name: ADOT_OPENAI_AGENTS_SCOPE };
const counts = (input: number, output: number): Attributes => ({
  'gen_ai.provider.name': 'openai',
  'gen_ai.usage.input_tokens': input,
  'gen_ai.usage.output_tokens': output,
});
const chat = (input: number, output: number, parent?: SpanView, extra: Attributes = {}): SpanView =>
  makeSpan(
    {
      ...counts(input, output),
      'gen_ai.operation.name': 'chat',
      'gen_ai.response.model': 'gpt-5-mini-2025-08-07',
      ...extra,
    },
    { scope: adot, parentSpanId: parent?.spanId, name: 'chat' },
  );
/** ADOT's `turn` span: no operation, the call's counts and the cache split. */
const turn = (input: number, output: number, read: number, parent?: SpanView, extra: Attributes = {}) =>
  makeSpan(
    {
      ...counts(input, output),
      'gen_ai.usage.cache_read.input_tokens': read,
      'gen_ai.usage.cache_creation.input_tokens': 0,
      ...extra,
    },
    { scope: adot, parentSpanId: parent?.spanId, name: 'turn', kind: SpanKind.INTERNAL },
  );

function billed(spans: SpanView[]): Map<string, Usage> {
  const r = convertTrace(spans, {});
  return new Map(r.calls.map((c) => [c.call.span.spanId, c.call.usage]));
}

describe('a call billed with the split its aggregate parent repeats', () => {
  it('takes the cache split of a turn span repeating exactly its one call, and no longer flags it', () => {
    const t = turn(2100, 150, 1792);
    const c = chat(2100, 150, t);
    const usage = billed([c, t]).get(c.spanId)!;
    expect(usage).toMatchObject({
      inputTokens: 2100,
      outputTokens: 150,
      cacheReadTokens: 1792,
      cacheWriteTokens: 0,
    });
    expect(usage.cacheSplitMissing).toBeUndefined();
    // Without the turn span the same chat span is billed without a split, and says so.
    const alone = billed([chat(2100, 150)]);
    expect([...alone.values()][0]).toMatchObject({ cacheSplitMissing: true });
    expect([...alone.values()][0]!.cacheReadTokens).toBeUndefined();
  });

  it('also through spans in between, and takes reasoning the call lacks', () => {
    const t = turn(900, 80, 512, undefined, { 'gen_ai.usage.reasoning.output_tokens': 64 });
    const mid = makeSpan({}, { parentSpanId: t.spanId, name: 'http' });
    const c = chat(900, 80, mid);
    expect(billed([c, mid, t]).get(c.spanId)).toMatchObject({ cacheReadTokens: 512, reasoningTokens: 64 });
  });

  it('never from a roll-up of two calls, even when one call matches it', () => {
    const wf = turn(2100, 150, 1792);
    const a = chat(2100, 150, wf);
    const b = chat(300, 20, wf);
    const u = billed([a, b, wf]);
    expect(u.get(a.spanId)!.cacheReadTokens).toBeUndefined();
    expect(u.get(a.spanId)!.cacheSplitMissing).toBe(true);
    expect(u.get(b.spanId)!.cacheReadTokens).toBeUndefined();
  });

  it('never when the counts differ (another call, or a partial repeat)', () => {
    const t = turn(2100, 151, 1792);
    const c = chat(2100, 150, t);
    expect(billed([c, t]).get(c.spanId)!.cacheReadTokens).toBeUndefined();
  });

  it('never replaces a split the call states itself', () => {
    const t = turn(2100, 150, 1792);
    const c = chat(2100, 150, t, { 'gen_ai.usage.cache_read.input_tokens': 1000 });
    expect(billed([c, t]).get(c.spanId)!.cacheReadTokens).toBe(1000);
  });

  it('takes the nearest matching aggregate when aggregates are nested (turn under a run total)', () => {
    const wf = turn(4390, 210, 3840);
    const t1 = turn(2100, 150, 1792, wf);
    const t2 = turn(2290, 60, 2048, wf);
    const c1 = chat(2100, 150, t1);
    const c2 = chat(2290, 60, t2);
    const u = billed([c1, c2, t1, t2, wf]);
    expect(u.get(c1.spanId)!.cacheReadTokens).toBe(1792);
    expect(u.get(c2.spanId)!.cacheReadTokens).toBe(2048);
  });

  it('a wrapper call (two instrumentations of one call) lends its split to the call billed below it', () => {
    const outer = makeSpan({
      ...counts(1230, 12),
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'claude-sonnet-4-5',
      'gen_ai.system': 'anthropic',
      'gen_ai.usage.cache_read.input_tokens': 1000,
      'gen_ai.usage.cache_creation.input_tokens': 200,
    });
    const inner = makeSpan(
      {
        ...counts(1230, 12),
        'gen_ai.provider.name': 'anthropic',
        'gen_ai.operation.name': 'chat',
        'gen_ai.request.model': 'claude-sonnet-4-5',
      },
      { parentSpanId: outer.spanId },
    );
    const u = billed([inner, outer]);
    expect([...u.keys()]).toEqual([inner.spanId]);
    expect(u.get(inner.spanId)).toMatchObject({ cacheReadTokens: 1000, cacheWriteTokens: 200 });
  });

  it('one response seen twice: the span billed takes the parts only the other one states', () => {
    const root = makeSpan({}, { name: 'root' });
    const shallow = makeSpan(
      {
        ...counts(200, 7),
        'gen_ai.operation.name': 'chat',
        'gen_ai.request.model': 'gpt-4.1-mini',
        'gen_ai.response.id': 'chatcmpl-9',
        'gen_ai.usage.cache_read.input_tokens': 128,
      },
      { parentSpanId: root.spanId },
    );
    const step = makeSpan({}, { parentSpanId: root.spanId, name: 'step' });
    const deep = makeSpan(
      {
        ...counts(200, 7),
        'gen_ai.operation.name': 'generate_content',
        'gen_ai.request.model': 'gpt-4.1-mini',
        'gen_ai.response.id': 'chatcmpl-9',
      },
      { parentSpanId: step.spanId },
    );
    const u = billed([shallow, deep, step, root]);
    expect([...u.keys()]).toEqual([deep.spanId]);
    expect(u.get(deep.spanId)!.cacheReadTokens).toBe(128);
  });
});
