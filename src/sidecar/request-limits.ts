/**
 * What one OTLP request may cost, checked before it is decoded: decoding builds objects for
 * every span and every attribute (about 100-150 bytes of heap each, and the CPU to match), so
 * a 20 MB body of 10 M empty spans would otherwise take gigabytes and seconds. A walk over the
 * encoded body counts spans and attributes without building anything and stops at the first
 * limit passed, so an oversized request costs about as much as the limits themselves; the
 * request is refused (413: the sender must split it) and never decoded.
 *
 * Protobuf: the walk follows the OTLP trace schema (resource spans → scope spans → spans →
 * attributes, events, links; nested attribute values count as attributes too). JSON: objects
 * are counted (outside strings), since each span is one and each attribute two (the key/value
 * and its value): a JSON request may hold up to `maxSpans + 2 × maxAttributes` objects.
 */
export interface RequestLimits {
  /** Most spans in one request. */
  maxSpans: number;
  /** Most attributes (key/value pairs at every level, nested values included) in one request. */
  maxAttributes: number;
}

export type LimitCheck = { ok: true } | { ok: false; message: string };

/** Deeper than this, protobufjs refuses the message anyway (see PROTOBUF_RECURSION_LIMIT): stop there. */
const MAX_DEPTH = 256;

/** Message types of the walk: which fields hold which messages. */
const enum M {
  Request,
  ResourceSpans,
  Resource,
  ScopeSpans,
  Scope,
  Span,
  Event,
  Link,
  KeyValue,
  AnyValue,
  ArrayValue,
  KeyValueList,
}

/** field number → message type, per message type (fields absent here are skipped). */
const FIELDS: Readonly<Record<M, Readonly<Record<number, M>>>> = {
  [M.Request]: { 1: M.ResourceSpans },
  [M.ResourceSpans]: { 1: M.Resource, 2: M.ScopeSpans, 1000: M.ScopeSpans },
  [M.Resource]: { 1: M.KeyValue },
  [M.ScopeSpans]: { 1: M.Scope, 2: M.Span },
  [M.Scope]: { 3: M.KeyValue },
  [M.Span]: { 9: M.KeyValue, 11: M.Event, 13: M.Link },
  [M.Event]: { 3: M.KeyValue },
  [M.Link]: { 4: M.KeyValue },
  [M.KeyValue]: { 2: M.AnyValue },
  [M.AnyValue]: { 5: M.ArrayValue, 6: M.KeyValueList },
  [M.ArrayValue]: { 1: M.AnyValue },
  [M.KeyValueList]: { 1: M.KeyValue },
};

class Over extends Error {}

/**
 * Checks an OTLP/protobuf ExportTraceServiceRequest against the limits, without decoding it.
 * A body too small to pass them (every span or attribute takes at least 2 bytes) is not walked.
 */
export function checkProtobuf(buf: Uint8Array, limits: RequestLimits): LimitCheck {
  if (buf.length < 2 * Math.min(limits.maxSpans, limits.maxAttributes)) return { ok: true };
  let spans = 0;
  let attributes = 0;
  /** Spans; attributes are key/values and the elements of array values. */
  const count = (m: M, parent: M): void => {
    if (m === M.Span) {
      if (++spans > limits.maxSpans) throw new Over(`more than ${limits.maxSpans} spans`);
    } else if (m === M.KeyValue || parent === M.ArrayValue) {
      if (++attributes > limits.maxAttributes) throw new Over(`more than ${limits.maxAttributes} attributes`);
    }
  };
  // An explicit stack: [message type, end offset]; no recursion, however deep the nesting.
  const types: M[] = [M.Request];
  const ends: number[] = [buf.length];
  let pos = 0;
  try {
    while (types.length > 0) {
      const depth = types.length - 1;
      if (pos >= ends[depth]!) {
        types.pop();
        ends.pop();
        continue;
      }
      // Field header: a varint (field number << 3 | wire type).
      let tag = 0;
      let shift = 0;
      let b: number;
      do {
        if (pos >= buf.length || shift > 28) return { ok: true }; // malformed: the decoder says why
        b = buf[pos++]!;
        tag += (b & 0x7f) * 2 ** shift;
        shift += 7;
      } while (b & 0x80);
      const wire = tag % 8;
      const field = Math.floor(tag / 8);
      if (wire === 0) {
        while (pos < buf.length && buf[pos++]! & 0x80);
      } else if (wire === 1) pos += 8;
      else if (wire === 5) pos += 4;
      else if (wire === 2) {
        let len = 0;
        shift = 0;
        do {
          if (pos >= buf.length || shift > 28) return { ok: true };
          b = buf[pos++]!;
          len += (b & 0x7f) * 2 ** shift;
          shift += 7;
        } while (b & 0x80);
        const end = pos + len;
        if (end > ends[depth]!) return { ok: true };
        const outer = types[depth]!;
        const inner = FIELDS[outer][field];
        if (inner === undefined) pos = end;
        else {
          count(inner, outer);
          if (types.length > MAX_DEPTH)
            return { ok: false, message: `attribute values nested deeper than ${MAX_DEPTH} levels` };
          types.push(inner);
          ends.push(end);
        }
      } else return { ok: true }; // groups and unknown wire types: malformed for OTLP
    }
  } catch (e) {
    if (e instanceof Over) return { ok: false, message: tooMuch(e.message) };
    throw e;
  }
  return { ok: true };
}

/**
 * Checks an OTLP/JSON body against the limits, without parsing it: objects outside strings
 * are counted (see the module note).
 */
export function checkJson(buf: Uint8Array, limits: RequestLimits): LimitCheck {
  const max = limits.maxSpans + 2 * limits.maxAttributes;
  if (buf.length < 2 * max) return { ok: true };
  let objects = 0;
  let inString = false;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i]!;
    if (inString) {
      if (c === 0x5c)
        i++; // a backslash escapes the next byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b && ++objects > max)
      return {
        ok: false,
        message: tooMuch(
          `more than ${max} JSON objects (at most ${limits.maxSpans} spans and ${limits.maxAttributes} attributes)`,
        ),
      };
  }
  return { ok: true };
}

function tooMuch(what: string): string {
  return `the request holds ${what}: send smaller batches (the limits are --max-request-spans and --max-request-attrs)`;
}
