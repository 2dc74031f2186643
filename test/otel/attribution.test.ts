import type { Span } from '@opentelemetry/api';
import { ROOT_CONTEXT, TraceFlags, propagation, trace } from '@opentelemetry/api';
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
  it('links each span to its recording parent', () => {
    const t = new AttributionTracker();
    const { root, mid, leaf, ctxs } = chain();
    t.onStart(root, ctxs[0]!);
    t.onStart(mid, ctxs[1]!);
    t.onStart(leaf, ctxs[2]!);
    expect(t.parentOf(leaf)).toBe(mid);
    expect(t.parentOf(mid)).toBe(root);
    expect(t.parentOf(root)).toBeUndefined();
    expect(t.baggageOf(leaf)).toBeUndefined();
  });

  it('the nearest baggage wins; one baggage read once and shared', () => {
    const t = new AttributionTracker();
    const { root, mid, leaf, ctxs } = chain();
    const bag = propagation.createBaggage({ 'customer.id': { value: 'c-bag' } });
    const inner = propagation.createBaggage({ 'customer.id': { value: 'c-inner' } });
    t.onStart(root, propagation.setBaggage(ctxs[0]!, bag));
    t.onStart(mid, propagation.setBaggage(ctxs[1]!, bag));
    t.onStart(leaf, ctxs[2]!);
    expect(t.baggageOf(leaf)).toEqual({ 'customer.id': 'c-bag' });
    expect(t.baggageOf(mid)).toBe(t.baggageOf(root));
    const other = tracer.startSpan('other', {}, ctxs[2]);
    t.onStart(other, propagation.setBaggage(ctxs[2]!, inner));
    expect(t.baggageOf(other)).toEqual({ 'customer.id': 'c-inner' });
  });

  it('a span under a parent dropped by a sampler links to its trace root instead', () => {
    const t = new AttributionTracker();
    const root = tracer.startSpan('root');
    t.onStart(root, ROOT_CONTEXT);
    const dropped = trace.wrapSpanContext({
      traceId: root.spanContext().traceId,
      spanId: 'a'.repeat(16),
      traceFlags: TraceFlags.NONE,
    });
    const child = tracer.startSpan('child', {}, trace.setSpan(ROOT_CONTEXT, dropped));
    t.onStart(child, trace.setSpan(ROOT_CONTEXT, dropped));
    expect(t.parentOf(child)).toBeUndefined();
    expect(t.rootLinkOf(child)).toBe(root);
    // Once the root has ended, later spans under a dropped parent have no root to link to.
    t.rootEnded(root.spanContext().traceId, root);
    const late = tracer.startSpan('late', {}, trace.setSpan(ROOT_CONTEXT, dropped));
    t.onStart(late, trace.setSpan(ROOT_CONTEXT, dropped));
    expect(t.rootLinkOf(late)).toBeUndefined();
  });

  it('a span under a sampled parent that records nothing here (a span context passed in process) links to the root', () => {
    const t = new AttributionTracker();
    const root = tracer.startSpan('root');
    t.onStart(root, ROOT_CONTEXT);
    const elsewhere = trace.wrapSpanContext({
      traceId: root.spanContext().traceId,
      spanId: 'e'.repeat(16),
      traceFlags: TraceFlags.SAMPLED,
    });
    const ctx = trace.setSpan(ROOT_CONTEXT, elsewhere);
    const child = tracer.startSpan('child', {}, ctx);
    t.onStart(child, ctx);
    expect(t.parentOf(child)).toBeUndefined();
    expect(t.rootLinkOf(child)).toBe(root);
  });

  it('baggage and parent are read from the context the span started in, after the fact', () => {
    const t = new AttributionTracker();
    const { root, mid, ctxs } = chain();
    const bag = propagation.createBaggage({ 'customer.id': { value: 'c-bag' } });
    t.onStart(root, ctxs[0]!);
    t.onStart(mid, propagation.setBaggage(ctxs[1]!, bag));
    // Read later (as the stage does when the trace resolves): the same answers as at start.
    root.end();
    mid.end();
    expect(t.parentOf(mid)).toBe(root);
    expect(t.baggageOf(mid)).toEqual({ 'customer.id': 'c-bag' });
    expect(t.baggageOf(root)).toBeUndefined();
  });

  it('a span started in the context of a parent that has ended links to that parent', () => {
    const t = new AttributionTracker();
    const { root, mid, ctxs } = chain();
    t.onStart(root, ctxs[0]!);
    t.onStart(mid, ctxs[1]!);
    mid.end();
    const late = tracer.startSpan('late', {}, ctxs[2]);
    t.onStart(late, ctxs[2]!);
    expect(t.parentOf(late)).toBe(mid);
    expect(t.rootLinkOf(late)).toBeUndefined();
  });

  it('a span continuing a remote parent is a local root, not linked to it', () => {
    const t = new AttributionTracker();
    const remote = trace.wrapSpanContext({
      traceId: 'b'.repeat(32),
      spanId: 'c'.repeat(16),
      traceFlags: TraceFlags.SAMPLED,
      isRemote: true,
    });
    const ctx = trace.setSpan(ROOT_CONTEXT, remote);
    const local = tracer.startSpan('server', {}, ctx);
    t.onStart(local, ctx);
    expect(t.parentOf(local)).toBeUndefined();
    const dropped = trace.wrapSpanContext({ traceId: 'b'.repeat(32), spanId: 'd'.repeat(16), traceFlags: 0 });
    const under = tracer.startSpan('under', {}, trace.setSpan(ROOT_CONTEXT, dropped));
    t.onStart(under, trace.setSpan(ROOT_CONTEXT, dropped));
    expect(t.rootLinkOf(under)).toBe(local);
  });

  it('spans that cannot take properties (frozen) are tracked too', () => {
    const t = new AttributionTracker();
    const { root, ctxs } = chain();
    t.onStart(root, ctxs[0]!);
    const child = Object.freeze(tracer.startSpan('frozen', {}, ctxs[1]));
    const bag = propagation.createBaggage({ k: { value: 'v' } });
    t.onStart(child, propagation.setBaggage(ctxs[1]!, bag));
    expect(t.parentOf(child)).toBe(root);
    expect(t.baggageOf(child)).toEqual({ k: 'v' });
  });

  it('a link is kept once per span, whichever tracker took it (two processors agree)', () => {
    const a = new AttributionTracker();
    const b = new AttributionTracker();
    const { root, mid, ctxs } = chain();
    expect(b.parentOf(mid)).toBeUndefined();
    a.onStart(mid, ctxs[1]!);
    b.onStart(mid, ctxs[1]!);
    expect(a.parentOf(mid)).toBe(root);
    expect(b.parentOf(mid)).toBe(root);
    expect(Object.getOwnPropertySymbols(mid)).toHaveLength(1);
  });
});
