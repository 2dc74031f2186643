import { ROOT_CONTEXT, context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttributionTracker } from '../../src/otel/attribution.js';
import { FENRA_CONTEXT_KEYS, fenraContext, withFenraContext } from '../../src/otel/with-fenra-context.js';

function entries(ctx = context.active()): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, e] of propagation.getBaggage(ctx)?.getAllEntries() ?? []) out[k] = e.value;
  return out;
}

const manager = new AsyncLocalStorageContextManager();
beforeAll(() => {
  context.setGlobalContextManager(manager.enable());
});
afterAll(() => {
  context.disable();
});

describe('fenraContext', () => {
  it('maps the named fields to their keys and every other field to fenra.context.<name>', () => {
    const ctx = fenraContext(
      {
        billableCustomerId: 'cus_1',
        feature: 'faq',
        userId: 'u_9',
        sessionId: 's_3',
        plan: 'pro',
        seats: 12,
        trial: false,
      },
      ROOT_CONTEXT,
    );
    expect(entries(ctx)).toEqual({
      'fenra.billable_customer_id': 'cus_1',
      'fenra.feature': 'faq',
      'user.id': 'u_9',
      'session.id': 's_3',
      'fenra.context.plan': 'pro',
      'fenra.context.seats': '12',
      'fenra.context.trial': 'false',
    });
    expect(FENRA_CONTEXT_KEYS.billableCustomerId).toBe('fenra.billable_customer_id');
  });

  it('ignores undefined, empty and non-finite values; returns the parent when nothing is set', () => {
    expect(fenraContext({ billableCustomerId: undefined, feature: '', n: Number.NaN }, ROOT_CONTEXT)).toBe(
      ROOT_CONTEXT,
    );
  });

  it('keeps existing baggage and lets the new value win', () => {
    const outer = fenraContext({ billableCustomerId: 'cus_outer', feature: 'a' }, ROOT_CONTEXT);
    expect(entries(fenraContext({ billableCustomerId: 'cus_inner' }, outer))).toEqual({
      'fenra.billable_customer_id': 'cus_inner',
      'fenra.feature': 'a',
    });
  });
});

describe('withFenraContext', () => {
  it('runs fn with the baggage active, across awaits, and restores the context after', async () => {
    const seen = await withFenraContext(
      { billableCustomerId: 'cus_7' },
      async (x: number) => {
        await new Promise((r) => setTimeout(r, 1));
        return { x, bag: entries() };
      },
      5,
    );
    expect(seen).toEqual({ x: 5, bag: { 'fenra.billable_customer_id': 'cus_7' } });
    expect(entries()).toEqual({});
  });

  it('nests: inner values override, outer ones stay', () => {
    const inner = withFenraContext({ billableCustomerId: 'cus_a', feature: 'chat' }, () =>
      withFenraContext({ feature: 'search' }, () => entries()),
    );
    expect(inner).toEqual({ 'fenra.billable_customer_id': 'cus_a', 'fenra.feature': 'search' });
  });

  it('reaches the attribution the span processor reads at span start', () => {
    const tracker = new AttributionTracker();
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      spanProcessors: [
        {
          onStart: (span, parent) => tracker.onStart(span, parent),
          onEnd: () => {},
          forceFlush: () => Promise.resolve(),
          shutdown: () => Promise.resolve(),
        },
        new SimpleSpanProcessor(exporter),
      ],
    });
    const tracer = provider.getTracer('t');
    withFenraContext({ billableCustomerId: 'cus_span', userId: 'u_1' }, () => {
      tracer.startActiveSpan('request', (req) => {
        tracer.startSpan('chat gpt-4.1-mini').end();
        req.end();
      });
    });
    const llmSpan = exporter.getFinishedSpans().find((s: ReadableSpan) => s.name.startsWith('chat'))!;
    expect(tracker.baggageOf(llmSpan)).toEqual({
      'fenra.billable_customer_id': 'cus_span',
      'user.id': 'u_1',
    });
    expect(trace.getActiveSpan()).toBeUndefined();
  });
});
