/**
 * What setup 1 (the processor in the app's own SDK) says: once that billing works (diag info),
 * once that calls have no customer with the fix in library terms (diag and a process warning),
 * and skipped calls with a pointer to stats(). A real tracer provider, the fake Fenra on loopback.
 */
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resetOncePerProcess } from '../../src/internal/process-warning.js';
import { FenraSpanProcessor } from '../../src/otel/span-processor.js';
import type { CapturedDiag } from '../helpers/capture-diag.js';
import { captureDiag } from '../helpers/capture-diag.js';
import type { IngestServer } from '../helpers/ingest-server.js';
import { startIngestServer } from '../helpers/ingest-server.js';

let ingest: IngestServer;
let logs: CapturedDiag;
let warnings: (Error & { code?: string })[];
const onWarning = (w: Error): void => void warnings.push(w);

beforeEach(async () => {
  resetOncePerProcess();
  logs = captureDiag();
  warnings = [];
  process.on('warning', onWarning);
  ingest = await startIngestServer({ apiKey: 'test-key' });
});
afterEach(async () => {
  process.off('warning', onWarning);
  logs.restore();
  await ingest.close();
});

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
const LLM = {
  'gen_ai.operation.name': 'chat',
  'gen_ai.provider.name': 'openai',
  'gen_ai.request.model': 'gpt-4o-mini',
  'gen_ai.usage.input_tokens': 10,
  'gen_ai.usage.output_tokens': 2,
};

async function run(calls: Record<string, unknown>[][]): Promise<void> {
  const processor = new FenraSpanProcessor({ apiKey: 'test-key', endpoint: ingest.url });
  const provider = new BasicTracerProvider({ spanProcessors: [processor] });
  const tracer = provider.getTracer('app');
  for (const batch of calls) {
    for (const attributes of batch) tracer.startSpan('chat', { attributes: attributes as never }).end();
    await processor.forceFlush();
  }
  await provider.shutdown();
  await tick();
}

describe('setup 1: what the processor says', () => {
  it('once, at info, that billing works', async () => {
    await run([
      [{ ...LLM, 'fenra.billable_customer_id': 'c' }],
      [{ ...LLM, 'fenra.billable_customer_id': 'c' }],
    ]);
    expect(ingest.accepted).toHaveLength(2);
    const info = logs.messages('info').filter((m) => m.includes('Billing works'));
    expect(info).toEqual([
      `@fenra/otel/delivery Billing works: Fenra (${ingest.url}) accepted the first 1 transaction(s). Nothing more is logged while it keeps working.`,
    ]);
    expect(logs.messages('warn')).toEqual([]);
  });

  it('once that calls have no customer, with the fix in library terms', async () => {
    await run([[LLM], [LLM, LLM]]);
    const text =
      '1 LLM call(s) had no customer and are billed as "unattributed". Wrap the calls in withFenraContext({ billableCustomerId }, fn) ' +
      "(import { withFenraContext } from '@fenra/otel'), set fenra.billable_customer_id on the request span, or set a default with " +
      'FENRA_BILLABLE_CUSTOMER_ID (or the billableCustomerId option).';
    expect(logs.messages('warn')).toEqual([`@fenra/otel ${text}`]);
    expect(warnings.filter((w) => w.code === 'FENRA_UNATTRIBUTED').map((w) => w.message)).toEqual([
      `@fenra/otel: ${text}`,
    ]);
  });

  it('a call it cannot bill: once, pointing at stats()', async () => {
    const { 'gen_ai.usage.input_tokens': _i, 'gen_ai.usage.output_tokens': _o, ...noUsage } = LLM;
    await run([
      [{ ...noUsage, 'fenra.billable_customer_id': 'c' }],
      [{ ...noUsage, 'fenra.billable_customer_id': 'c' }],
    ]);
    const warns = logs.messages('warn');
    expect(warns).toHaveLength(1);
    expect(warns[0]).toMatch(/without usage.*further ones are only counted \(see stats\(\)\)$/);
  });
});
