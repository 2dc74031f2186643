/**
 * Throughput of the sidecar's OTLP/protobuf decode: a 512-span ExportTraceServiceRequest of
 * GenAI-like spans, written by the real OTel ProtobufTraceSerializer, decoded to SpanViews.
 * Run: npx tsx bench/decode.ts
 */
import { pathToFileURL } from 'node:url';
import { SpanKind, context, trace } from '@opentelemetry/api';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { decodeTraceRequest } from '../src/span/otlp-proto.js';

const SPANS = 512;

async function buildPayload(): Promise<Uint8Array> {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      'service.name': 'chat-api',
      'service.version': '1.2.3',
      'deployment.environment.name': 'prod',
      'telemetry.sdk.language': 'nodejs',
      'telemetry.sdk.name': 'opentelemetry',
      'telemetry.sdk.version': '2.2.0',
    }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('@opentelemetry/instrumentation-openai', '0.21.0');
  for (let i = 0; i < SPANS / 2; i++) {
    const parent = tracer.startSpan('POST /chat', { kind: SpanKind.SERVER });
    const llm = tracer.startSpan(
      'chat gpt-4o-mini',
      {
        kind: SpanKind.CLIENT,
        attributes: {
          'gen_ai.operation.name': 'chat',
          'gen_ai.system': 'openai',
          'gen_ai.provider.name': 'openai',
          'gen_ai.request.model': 'gpt-4o-mini',
          'gen_ai.response.model': 'gpt-4o-mini-2024-07-18',
          'gen_ai.response.id': `chatcmpl-${i.toString(36)}abcdefghijklmnop`,
          'gen_ai.usage.input_tokens': 1000 + i,
          'gen_ai.usage.output_tokens': 200 + (i % 50),
          'gen_ai.usage.cache_read.input_tokens': 512,
          'gen_ai.request.temperature': 0.7,
          'gen_ai.request.max_tokens': 1024,
          'gen_ai.response.finish_reasons': ['stop'],
          'server.address': 'api.openai.com',
          'server.port': 443,
          'fenra.customer.id': `cust_${i % 37}`,
          'user.id': `user-${i}`,
        },
      },
      trace.setSpan(context.active(), parent),
    );
    llm.addEvent('gen_ai.choice', { index: 0, finish_reason: 'stop' });
    llm.end();
    parent.end();
  }
  await provider.forceFlush();
  const payload = ProtobufTraceSerializer.serializeRequest(exporter.getFinishedSpans());
  await provider.shutdown();
  if (payload === undefined) throw new Error('serializer produced nothing');
  return payload;
}

export async function benchDecode(): Promise<{ decode_spans_per_s: number }> {
  const payload = await buildPayload();
  const check = decodeTraceRequest(payload);
  if (check.spans.length !== SPANS || check.errors.length > 0) {
    throw new Error(`decode check failed: ${check.spans.length} spans, errors ${check.errors.join('; ')}`);
  }
  let sink = 0;
  for (let i = 0; i < 50; i++) sink += decodeTraceRequest(payload).spans.length; // warm-up
  let iterations = 0;
  const start = process.hrtime.bigint();
  let elapsedNs = 0n;
  while (elapsedNs < 1_500_000_000n) {
    sink += decodeTraceRequest(payload).spans.length;
    iterations++;
    elapsedNs = process.hrtime.bigint() - start;
  }
  if (sink === 0) throw new Error('unreachable');
  return { decode_spans_per_s: Math.round((iterations * SPANS) / (Number(elapsedNs) / 1e9)) };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await benchDecode();
  console.log(JSON.stringify(result));
}
