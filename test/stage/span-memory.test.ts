import { describe, expect, it } from 'vitest';
import { billingAttributeFilter } from '../../src/genai/billing-keys.js';
import { SpanMemory } from '../../src/stage/span-memory.js';
import { makeSpan } from '../helpers/span.js';

const keep = billingAttributeFilter();

describe('SpanMemory (the out-of-process ancestor source)', () => {
  it('keeps the most recent roots and spans, each bounded', () => {
    const m = new SpanMemory(2, keep);
    const roots = ['1', '2', '3'].map((c) => makeSpan({ 'user.id': c }, { traceId: c.repeat(32) }));
    for (const r of roots) m.remember(r);
    expect(roots.map((r) => m.rootOf(r)?.spanId)).toEqual([undefined, roots[1]!.spanId, roots[2]!.spanId]);
  });

  it('walks a child to its remembered parent, the root included, within its own trace only', () => {
    const m = new SpanMemory(10, keep);
    const T = 'a'.repeat(32);
    const root = makeSpan({ 'fenra.billable_customer_id': 'acme' }, { traceId: T });
    const app = makeSpan({}, { traceId: T, parentSpanId: root.spanId });
    m.remember(root);
    m.remember(app);
    const call = makeSpan({}, { traceId: T, parentSpanId: app.spanId });
    expect(m.parentOf(call)?.spanId).toBe(app.spanId);
    expect(m.parentOf(app)?.spanId).toBe(root.spanId);
    expect(m.parentOf(makeSpan({}, { traceId: 'b'.repeat(32), parentSpanId: app.spanId }))).toBeUndefined();
  });

  it('remembers only the attributes billing reads, and no events', () => {
    const m = new SpanMemory(10, keep);
    const span = makeSpan(
      { 'fenra.billable_customer_id': 'acme', 'gen_ai.input.messages': 'secret prompt', 'http.url': 'x' },
      { events: [{ name: 'gen_ai.user.message', timeMs: 1, attributes: { content: 'secret' } }] },
    );
    m.remember(span);
    const kept = m.rootOf(span)!;
    expect(kept.attributes).toEqual({ 'fenra.billable_customer_id': 'acme' });
    expect(kept.events).toEqual([]);
  });
});
