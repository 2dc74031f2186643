import { readdirSync, readFileSync } from 'node:fs';
import type { Attributes, AttributeValue, HrTime } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';

/**
 * Turns a recorded OTLP/JSON trace back into the ReadableSpans an SDK would hand its exporter,
 * so the real OTLP exporters can send it again (protobuf or JSON, gzip or not).
 */
export type ReadableSpans = Parameters<OTLPTraceExporter['export']>[0];

export const RECORDED_DIR = new URL('../fixtures/recorded/', import.meta.url);

export function recordedFixtures(): { name: string; json: unknown }[] {
  return readdirSync(RECORDED_DIR)
    .filter((f) => f.endsWith('.otlp.json'))
    .sort()
    .map((f) => ({
      name: f.replace('.otlp.json', ''),
      json: JSON.parse(readFileSync(new URL(f, RECORDED_DIR), 'utf8')) as unknown,
    }));
}

type J = Record<string, unknown>;

function anyValue(v: J | undefined): AttributeValue | undefined {
  if (!v) return undefined;
  if ('stringValue' in v) return v['stringValue'] as string;
  if ('boolValue' in v) return v['boolValue'] as boolean;
  if ('intValue' in v) return Number(v['intValue']);
  if ('doubleValue' in v) return Number(v['doubleValue']);
  if ('arrayValue' in v) {
    const values = ((v['arrayValue'] as J)['values'] as J[] | undefined) ?? [];
    return values.map((x) => anyValue(x)) as AttributeValue;
  }
  return undefined;
}

function attrs(list: unknown): Attributes {
  const out: Attributes = {};
  for (const kv of (list as J[] | undefined) ?? []) {
    const v = anyValue(kv['value'] as J | undefined);
    if (v !== undefined) out[kv['key'] as string] = v;
  }
  return out;
}

function hr(nanos: unknown): HrTime {
  const n = BigInt(nanos as string);
  return [Number(n / 1_000_000_000n), Number(n % 1_000_000_000n)];
}

/** `renameTrace` maps each trace id to the one to send (copies of a trace as new traces). */
export function readableSpans(
  json: unknown,
  renameTrace: (id: string) => string = (id) => id,
): ReadableSpans {
  const out: ReadableSpans = [];
  for (const rs of ((json as J)['resourceSpans'] as J[]) ?? []) {
    const resource = resourceFromAttributes(attrs((rs['resource'] as J | undefined)?.['attributes']));
    for (const ss of (rs['scopeSpans'] as J[]) ?? []) {
      const scope = (ss['scope'] as J | undefined) ?? {};
      for (const s of (ss['spans'] as J[]) ?? []) {
        const traceId = renameTrace(s['traceId'] as string);
        const spanId = s['spanId'] as string;
        const parent = s['parentSpanId'] as string | undefined;
        const start = hr(s['startTimeUnixNano']);
        const end = hr(s['endTimeUnixNano']);
        const status = (s['status'] as J | undefined) ?? {};
        out.push({
          name: s['name'] as string,
          kind: Math.max(0, Number(s['kind'] ?? 1) - 1),
          spanContext: () => ({ traceId, spanId, traceFlags: 1 }),
          parentSpanContext: parent ? { traceId, spanId: parent, traceFlags: 1 } : undefined,
          startTime: start,
          endTime: end,
          status: { code: Number(status['code'] ?? 0), message: status['message'] as string | undefined },
          attributes: attrs(s['attributes']),
          links: [],
          events: ((s['events'] as J[] | undefined) ?? []).map((e) => ({
            name: e['name'] as string,
            time: hr(e['timeUnixNano']),
            attributes: attrs(e['attributes']),
          })),
          duration: [end[0] - start[0], end[1] - start[1]],
          ended: true,
          resource,
          instrumentationScope: {
            name: (scope['name'] as string) ?? '',
            version: scope['version'] as string | undefined,
          },
          droppedAttributesCount: 0,
          droppedEventsCount: 0,
          droppedLinksCount: 0,
        });
      }
    }
  }
  return out;
}
