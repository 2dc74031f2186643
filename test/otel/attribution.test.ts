import type { Span } from '@opentelemetry/api';
import { ROOT_CONTEXT, propagation, trace } from '@opentelemetry/api';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { AttributionTracker } from '../../src/otel/attribution.js';

const tracer = new BasicTracerProvider().getTracer('t');

function chain(): { root: Span; mid: Span; leaf: Span; ctxs: ReturnType<typeof trace.setSpan>[] } {
  const root = tracer.startSpan('root', { attributes: { 'customer.id': 'c-root' } });
  const c1 = trace.setSpan(ROOT_CONTEXT, root);
  const mid = tracer.startSpan('mid', { attributes: { a: 1 } }, c1);
  const c2 = trace.setSpan(c1, mid);
  const leaf = tracer.startSpan('leaf', {}, c2);
  return { root, mid, leaf, ctxs: [ROOT_CONTEXT, c1, c2] };
}

describe('AttributionTracker', () => {
  it('links each span to its parent: ancestors nearest first, with their current attributes', () => {
    const t = new AttributionTracker();
    const { root, mid, leaf, ctxs } = chain();
    t.onStart(root, ctxs[0]!);
    t.onStart(mid, ctxs[1]!);
    t.onStart(leaf, ctxs[2]!);
    root.setAttribute('late', 'set after the leaf started');
    const { ancestors, baggage } = t.layers(leaf);
    expect(ancestors).toEqual([{ a: 1 }, { 'customer.id': 'c-root', late: 'set after the leaf started' }]);
    expect(baggage).toBeUndefined();
    expect([...t.ancestorSpans(leaf)]).toEqual([mid, root]);
    const marked = new WeakSet<object>();
    t.addAncestorsTo(leaf, marked);
    expect([marked.has(mid), marked.has(root), marked.has(leaf)]).toEqual([true, true, false]);
    expect(t.layers(root)).toEqual({ ancestors: [], baggage: undefined });
  });

  it('the nearest baggage wins; one baggage read once and shared', () => {
    const t = new AttributionTracker();
    const { root, mid, leaf, ctxs } = chain();
    const bag = propagation.createBaggage({ 'customer.id': { value: 'c-bag' } });
    const inner = propagation.createBaggage({ 'customer.id': { value: 'c-inner' } });
    t.onStart(root, propagation.setBaggage(ctxs[0]!, bag));
    t.onStart(mid, propagation.setBaggage(ctxs[1]!, bag));
    t.onStart(leaf, ctxs[2]!);
    expect(t.layers(leaf).baggage).toEqual({ 'customer.id': 'c-bag' });
    expect(t.layers(mid).baggage).toBe(t.layers(root).baggage);
    const other = tracer.startSpan('other', {}, ctxs[2]);
    t.onStart(other, propagation.setBaggage(ctxs[2]!, inner));
    expect(t.layers(other).baggage).toEqual({ 'customer.id': 'c-inner' });
  });

  it('spans that cannot take properties (frozen) are tracked too', () => {
    const t = new AttributionTracker();
    const parent = Object.freeze({ attributes: { 'customer.id': 'c-p' } });
    const child = Object.freeze({ attributes: {} });
    const parentCtx = trace.setSpan(ROOT_CONTEXT, parent as unknown as Span);
    const bag = propagation.createBaggage({ k: { value: 'v' } });
    t.onStart(child, propagation.setBaggage(parentCtx, bag));
    expect(t.layers(child)).toEqual({ ancestors: [{ 'customer.id': 'c-p' }], baggage: { k: 'v' } });
    expect([...t.ancestorSpans(child)]).toEqual([parent]);
  });

  it('two trackers keep separate links', () => {
    const a = new AttributionTracker();
    const b = new AttributionTracker();
    const { root, mid, ctxs } = chain();
    a.onStart(mid, ctxs[1]!);
    expect([...a.ancestorSpans(mid)]).toEqual([root]);
    expect([...b.ancestorSpans(mid)]).toEqual([]);
  });
});
