/**
 * OTLP/protobuf requests written byte by byte: the hostile shapes an encoder would never make
 * (millions of empty spans, an attribute of millions of values), built without an encoder.
 */

export function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 127) {
    out.push((n & 127) | 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

/** Field `f` of wire type 2 (length-delimited) holding `body`. */
export function field(f: number, body: Uint8Array | number[]): Buffer {
  const b = Buffer.from(body);
  return Buffer.concat([Buffer.from([(f << 3) | 2, ...varint(b.length)]), b]);
}

/** An ExportTraceServiceRequest of `n` empty spans (2 bytes each). */
export function emptySpans(n: number): Buffer {
  const spans = Buffer.alloc(2 * n);
  for (let i = 0; i < n; i++) spans[2 * i] = 0x12; // field 2 (spans), length 0
  return field(1, field(2, spans));
}

/**
 * An ExportTraceServiceRequest of one ResourceSpans holding `n` empty ScopeSpans (2 bytes each):
 * no span and no attribute, so within every count limit, but `n` messages to walk.
 */
export function emptyScopes(n: number): Buffer {
  const scopes = Buffer.alloc(2 * n);
  for (let i = 0; i < n; i++) scopes[2 * i] = 0x12; // field 2 (scope_spans), length 0
  return field(1, scopes);
}

/** An ExportTraceServiceRequest of `n` empty ResourceSpans (2 bytes each). */
export function emptyResources(n: number): Buffer {
  const resources = Buffer.alloc(2 * n);
  for (let i = 0; i < n; i++) resources[2 * i] = 0x0a; // field 1 (resource_spans), length 0
  return resources;
}

/** One span whose one attribute `k` is an array of `n` one-byte string values. */
export function hugeArray(n: number): Buffer {
  const one = field(1, field(1, Buffer.from('x'))); // ArrayValue.values: AnyValue { string_value: "x" }
  const values = Buffer.alloc(one.length * n);
  for (let i = 0; i < n; i++) one.copy(values, i * one.length);
  const kv = field(9, Buffer.concat([field(1, Buffer.from('k')), field(2, field(5, values))]));
  return field(1, field(2, field(2, kv)));
}
