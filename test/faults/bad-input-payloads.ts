/**
 * Hostile but well-framed payloads for the sidecar: a protobuf AnyValue nested `depth` levels
 * deep (kvlist in kvlist), and one trace of `n` spans.
 */

import { field } from '../helpers/protobuf-bytes.js';

function fixed64(field: number, value: bigint): Buffer {
  const b = Buffer.alloc(9);
  b[0] = (field << 3) | 1;
  b.writeBigUInt64LE(value, 1);
  return b;
}

/** An ExportTraceServiceRequest with one span whose attribute `deep` nests `depth` kvlists. */
export function deepProto(depth: number): Uint8Array {
  let any: Buffer = Buffer.from([0x18, 0x01]); // AnyValue { int_value: 1 }
  for (let i = 0; i < depth; i++) {
    const kv = Buffer.concat([field(1, Buffer.from('k')), field(2, any)]);
    any = field(6, field(1, kv)); // AnyValue { kvlist_value: KeyValueList { values: [kv] } }
  }
  const attr = Buffer.concat([field(1, Buffer.from('deep')), field(2, any)]);
  const now = BigInt(Date.now()) * 1_000_000n;
  const span = Buffer.concat([
    field(1, Buffer.from('0af7651916cd43dd8448eb211c80319c', 'hex')),
    field(2, Buffer.from('b7ad6b7169203331', 'hex')),
    field(5, Buffer.from('deep')),
    fixed64(7, now),
    fixed64(8, now + 1_000_000n),
    field(9, attr),
  ]);
  return field(1, field(2, field(2, span)));
}

/** One trace: a server span and `n - 1` LLM spans under it (OTLP/JSON), and the LLM span ids. */
export function bigTrace(
  n: number,
  traceId = '5ca1ab1e000000000000000000000001',
): { json: string; llmSpanIds: string[] } {
  const start = BigInt(Date.now()) * 1_000_000n;
  const rootId = 'a000000000000000';
  const spans: unknown[] = [
    {
      traceId,
      spanId: rootId,
      name: 'POST /batch',
      kind: 2,
      startTimeUnixNano: String(start),
      endTimeUnixNano: String(start + 5_000_000_000n),
      attributes: [{ key: 'fenra.billable_customer_id', value: { stringValue: 'big-customer' } }],
    },
  ];
  const llmSpanIds: string[] = [];
  for (let i = 1; i < n; i++) {
    const spanId = (0xb000000000000000n + BigInt(i)).toString(16);
    llmSpanIds.push(spanId);
    spans.push({
      traceId,
      spanId,
      parentSpanId: rootId,
      name: 'chat gpt-4o-mini',
      kind: 3,
      startTimeUnixNano: String(start + BigInt(i) * 1000n),
      endTimeUnixNano: String(start + BigInt(i) * 1000n + 500n),
      attributes: [
        { key: 'gen_ai.operation.name', value: { stringValue: 'chat' } },
        { key: 'gen_ai.system', value: { stringValue: 'openai' } },
        { key: 'gen_ai.request.model', value: { stringValue: 'gpt-4o-mini' } },
        { key: 'gen_ai.response.id', value: { stringValue: `chatcmpl-big-${i}` } },
        { key: 'gen_ai.usage.input_tokens', value: { intValue: String(100 + i) } },
        { key: 'gen_ai.usage.output_tokens', value: { intValue: '7' } },
      ],
    });
  }
  const json = JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'batch-worker' } }] },
        scopeSpans: [{ scope: { name: '@opentelemetry/instrumentation-openai', version: '0.21.0' }, spans }],
      },
    ],
  });
  return { json, llmSpanIds };
}
