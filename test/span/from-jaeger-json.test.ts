import { afterAll, describe, expect, it } from 'vitest';
import { renderTransaction } from '../../src/fenra/render-transaction.js';
import { PriceBook } from '../../src/pricing/price-book.js';
import { isJaegerJson, spansFromJaegerJson } from '../../src/span/from-jaeger-json.js';
import { spansFromOtlpJson } from '../../src/span/from-otlp-json.js';
import { spansFromTraceJson } from '../../src/span/from-trace-json.js';
import { SpanKind, StatusCode } from '../../src/span/span-view.js';
import { toTransactions } from '../../src/stage/to-transactions.js';
import { recordedFixtures } from '../sidecar/otlp-replay.js';
import { toJaegerExport } from './jaeger-export.js';

const pricer = new PriceBook();
const bill = (spans: Parameters<typeof toTransactions>[0]) =>
  toTransactions(spans, { pricer }).transactions.map((t) => ({
    wire: renderTransaction(t),
    usd: t.price.usd,
  }));

describe('spansFromJaegerJson: the same trace exported by Jaeger bills the same', () => {
  let billedInAll = 0;
  afterAll(() => {
    // The comparison above is over real bills, not empty lists.
    expect(billedInAll).toBeGreaterThan(20);
  });
  for (const f of recordedFixtures()) {
    it(f.name, () => {
      const fromOtlp = spansFromOtlpJson(f.json);
      const jaeger = toJaegerExport(f.json);
      expect(isJaegerJson(jaeger)).toBe(true);
      const fromJaeger = spansFromJaegerJson(jaeger);
      expect(fromJaeger.errors).toEqual([]);
      expect(fromJaeger.spans).toHaveLength(fromOtlp.spans.length);
      const billed = bill(fromOtlp.spans);
      billedInAll += billed.length;
      expect(bill(fromJaeger.spans)).toEqual(billed);
    });
  }
});

/** A Jaeger UI export written out by hand: what each field becomes. */
const EXPORT = {
  data: [
    {
      traceID: 'a1b2c3d4e5f60718',
      spans: [
        {
          traceID: 'a1b2c3d4e5f60718',
          spanID: '00000000000000aa',
          operationName: 'POST /chat',
          references: [],
          startTime: 1751328000123456,
          duration: 900000,
          tags: [
            { key: 'span.kind', type: 'string', value: 'server' },
            { key: 'fenra.billable_customer_id', type: 'string', value: 'cus_9' },
          ],
          logs: [],
          processID: 'p1',
        },
        {
          traceID: 'a1b2c3d4e5f60718',
          spanID: 'bb',
          operationName: 'chat gpt-4o-mini',
          references: [{ refType: 'CHILD_OF', traceID: 'a1b2c3d4e5f60718', spanID: '00000000000000aa' }],
          startTime: 1751328000200000,
          duration: 500000,
          tags: [
            { key: 'span.kind', type: 'string', value: 'client' },
            { key: 'otel.scope.name', type: 'string', value: '@opentelemetry/instrumentation-openai' },
            { key: 'otel.scope.version', type: 'string', value: '0.21.0' },
            { key: 'gen_ai.operation.name', type: 'string', value: 'chat' },
            { key: 'gen_ai.provider.name', type: 'string', value: 'openai' },
            { key: 'gen_ai.request.model', type: 'string', value: 'gpt-4o-mini' },
            { key: 'gen_ai.usage.input_tokens', type: 'int64', value: '1200' },
            { key: 'gen_ai.usage.output_tokens', type: 'int64', value: 300 },
            { key: 'gen_ai.request.temperature', type: 'float64', value: 0.2 },
            { key: 'otel.status_code', type: 'string', value: 'ERROR' },
            { key: 'otel.status_description', type: 'string', value: 'boom' },
            { key: 'error', type: 'bool', value: true },
          ],
          logs: [{ timestamp: 1751328000300000, fields: [{ key: 'event', type: 'string', value: 'retry' }] }],
          process: { serviceName: 'inline-svc', tags: [] },
        },
      ],
      processes: {
        p1: {
          serviceName: 'support-bot',
          tags: [{ key: 'deployment.environment.name', type: 'string', value: 'production' }],
        },
      },
      warnings: null,
    },
  ],
  total: 0,
  limit: 0,
  offset: 0,
  errors: null,
};

describe('spansFromJaegerJson: fields', () => {
  const { spans, errors } = spansFromJaegerJson(EXPORT);
  const [root, call] = spans;

  it('reads ids (64-bit trace ids padded, leading zeros restored), parents, times, kinds', () => {
    expect(errors).toEqual([]);
    expect(root).toMatchObject({
      traceId: '0000000000000000a1b2c3d4e5f60718',
      spanId: '00000000000000aa',
      parentSpanId: undefined,
      name: 'POST /chat',
      kind: SpanKind.SERVER,
      startTimeMs: 1751328000123.456,
      endTimeMs: 1751328001023.456,
      resource: { 'service.name': 'support-bot', 'deployment.environment.name': 'production' },
      attributes: { 'fenra.billable_customer_id': 'cus_9' },
    });
    expect(call).toMatchObject({
      spanId: '00000000000000bb',
      parentSpanId: '00000000000000aa',
      kind: SpanKind.CLIENT,
    });
  });

  it('reads typed tags, folds the translation tags into scope and status, logs into events', () => {
    expect(call!.attributes).toEqual({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.usage.input_tokens': 1200,
      'gen_ai.usage.output_tokens': 300,
      'gen_ai.request.temperature': 0.2,
    });
    expect(call!.scope).toEqual({ name: '@opentelemetry/instrumentation-openai', version: '0.21.0' });
    expect(call!.status).toEqual({ code: StatusCode.ERROR, message: 'boom' });
    expect(call!.resource).toEqual({ 'service.name': 'inline-svc' });
    expect(call!.events).toEqual([{ name: 'retry', timeMs: 1751328000300, attributes: {} }]);
  });

  it('bills the call, attributed from its root', () => {
    const [t] = bill(spans);
    expect(t!.wire).toMatchObject({
      provider: 'openai',
      model: 'gpt-4o-mini',
      context: { billable_customer_id: 'cus_9', service: 'inline-svc' },
    });
  });

  it('skips a malformed span with one error and keeps the rest', () => {
    const broken = structuredClone(EXPORT);
    (broken.data[0]!.spans[0] as Record<string, unknown>)['spanID'] = 'not-hex';
    const r = spansFromJaegerJson(broken);
    expect(r.errors).toEqual(['data[0].spans[0]: invalid or missing spanID (hex, not all zero)']);
    expect(r.spans).toHaveLength(1);
  });

  it('is told apart from OTLP/JSON and from other JSON', () => {
    expect(spansFromTraceJson(EXPORT).format).toBe('jaeger');
    expect(spansFromTraceJson({ data: [] }).format).toBe('jaeger');
    expect(spansFromTraceJson({ resourceSpans: [] }).format).toBe('otlp');
    expect(spansFromTraceJson({ data: [1] }).format).toBeUndefined();
    expect(spansFromTraceJson({ foo: 1 }).format).toBeUndefined();
    expect(spansFromTraceJson('text').format).toBeUndefined();
  });
});
