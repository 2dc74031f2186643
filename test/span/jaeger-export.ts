/**
 * An OTLP/JSON request as Jaeger would export it (its UI's "Download JSON", the query API):
 * the translation Jaeger applies to OTLP spans it stores, written out for tests. Attribute
 * types become tag types (int → int64, double → float64, arrays and maps → their JSON as a
 * string), the kind, status and scope become `span.kind`, `otel.status_code` / `error`,
 * `otel.scope.*` tags, the resource becomes a process (`service.name` → `serviceName`), times
 * become microseconds, parents `CHILD_OF` references, events logs.
 */
type J = Record<string, unknown>;

interface JaegerTag {
  key: string;
  type: 'string' | 'bool' | 'int64' | 'float64' | 'binary';
  value: unknown;
}

function plain(v: J | undefined): unknown {
  if (!v) return null;
  if ('stringValue' in v) return v['stringValue'];
  if ('boolValue' in v) return v['boolValue'];
  if ('intValue' in v) return Number(v['intValue']);
  if ('doubleValue' in v) return Number(v['doubleValue']);
  if ('arrayValue' in v) return (((v['arrayValue'] as J)['values'] as J[] | undefined) ?? []).map(plain);
  if ('kvlistValue' in v) {
    const out: J = {};
    for (const kv of ((v['kvlistValue'] as J)['values'] as J[] | undefined) ?? [])
      out[kv['key'] as string] = plain(kv['value'] as J);
    return out;
  }
  if ('bytesValue' in v) return v['bytesValue'];
  return null;
}

function tag(key: string, v: J): JaegerTag {
  if ('stringValue' in v) return { key, type: 'string', value: v['stringValue'] };
  if ('boolValue' in v) return { key, type: 'bool', value: v['boolValue'] };
  if ('intValue' in v) return { key, type: 'int64', value: Number(v['intValue']) };
  if ('doubleValue' in v) return { key, type: 'float64', value: Number(v['doubleValue']) };
  if ('bytesValue' in v) return { key, type: 'binary', value: v['bytesValue'] };
  return { key, type: 'string', value: JSON.stringify(plain(v)) };
}

const tags = (attrs: unknown): JaegerTag[] =>
  ((attrs as J[] | undefined) ?? []).map((kv) => tag(kv['key'] as string, kv['value'] as J));

const micros = (nanos: unknown): number => Number(BigInt(String(nanos)) / 1000n);

const KIND = ['', 'internal', 'server', 'client', 'producer', 'consumer'];

export function toJaegerExport(request: unknown): { data: J[] } {
  const byTrace = new Map<string, { spans: J[]; processes: J }>();
  let processNo = 0;
  for (const rs of (request as J)['resourceSpans'] as J[]) {
    const resource = ((rs['resource'] as J | undefined)?.['attributes'] as J[] | undefined) ?? [];
    const service = resource.find((kv) => kv['key'] === 'service.name');
    const process = {
      serviceName: service ? plain(service['value'] as J) : 'unknown_service',
      tags: tags(resource.filter((kv) => kv['key'] !== 'service.name')),
    };
    const processID = `p${++processNo}`;
    for (const ss of rs['scopeSpans'] as J[]) {
      const scope = (ss['scope'] as J | undefined) ?? {};
      for (const s of ss['spans'] as J[]) {
        const traceID = s['traceId'] as string;
        let trace = byTrace.get(traceID);
        if (!trace) byTrace.set(traceID, (trace = { spans: [], processes: {} }));
        trace.processes[processID] = process;
        const status = (s['status'] as J | undefined) ?? {};
        const extra: JaegerTag[] = [];
        if (scope['name']) extra.push({ key: 'otel.scope.name', type: 'string', value: scope['name'] });
        if (scope['version'])
          extra.push({ key: 'otel.scope.version', type: 'string', value: scope['version'] });
        const kind = KIND[Number(s['kind'] ?? 0)];
        if (kind) extra.push({ key: 'span.kind', type: 'string', value: kind });
        if (status['code'] === 1) extra.push({ key: 'otel.status_code', type: 'string', value: 'OK' });
        if (status['code'] === 2) {
          extra.push({ key: 'otel.status_code', type: 'string', value: 'ERROR' });
          extra.push({ key: 'error', type: 'bool', value: true });
        }
        if (status['message'])
          extra.push({ key: 'otel.status_description', type: 'string', value: status['message'] });
        const start = micros(s['startTimeUnixNano']);
        trace.spans.push({
          traceID,
          spanID: s['spanId'],
          flags: 1,
          operationName: s['name'],
          references: s['parentSpanId'] ? [{ refType: 'CHILD_OF', traceID, spanID: s['parentSpanId'] }] : [],
          startTime: start,
          duration: micros(s['endTimeUnixNano']) - start,
          tags: [...tags(s['attributes']), ...extra],
          logs: ((s['events'] as J[] | undefined) ?? []).map((e) => ({
            timestamp: micros(e['timeUnixNano']),
            fields: [{ key: 'event', type: 'string', value: e['name'] }, ...tags(e['attributes'])],
          })),
          processID,
          warnings: null,
        });
      }
    }
  }
  return {
    data: [...byTrace].map(([traceID, t]) => ({
      traceID,
      spans: t.spans,
      processes: t.processes,
      warnings: null,
    })),
  };
}
