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

/** The message type field `field` of a message of type `outer` holds, or -1 when it is skipped. */
function inner(outer: M, field: number): number {
  switch (outer) {
    case M.Request:
      return field === 1 ? M.ResourceSpans : -1;
    case M.ResourceSpans:
      return field === 1 ? M.Resource : field === 2 || field === 1000 ? M.ScopeSpans : -1;
    case M.Resource:
      return field === 1 ? M.KeyValue : -1;
    case M.ScopeSpans:
      return field === 1 ? M.Scope : field === 2 ? M.Span : -1;
    case M.Scope:
      return field === 3 ? M.KeyValue : -1;
    case M.Span:
      return field === 9 ? M.KeyValue : field === 11 ? M.Event : field === 13 ? M.Link : -1;
    case M.Event:
      return field === 3 ? M.KeyValue : -1;
    case M.Link:
      return field === 4 ? M.KeyValue : -1;
    case M.KeyValue:
      return field === 2 ? M.AnyValue : -1;
    case M.AnyValue:
      return field === 5 ? M.ArrayValue : field === 6 ? M.KeyValueList : -1;
    case M.ArrayValue:
      return field === 1 ? M.AnyValue : -1;
    case M.KeyValueList:
      return field === 1 ? M.KeyValue : -1;
  }
  return -1;
}

/**
 * Checks an OTLP/protobuf ExportTraceServiceRequest against the limits, without decoding it.
 * A body too small to pass them (every span or attribute takes at least 2 bytes) is not walked.
 * Counted: spans; attributes are key/values (at every level) and the elements of array values.
 */
export function checkProtobuf(buf: Uint8Array, limits: RequestLimits): LimitCheck {
  if (buf.length < 2 * Math.min(limits.maxSpans, limits.maxAttributes)) return { ok: true };
  const maxSpans = limits.maxSpans;
  const maxAttributes = limits.maxAttributes;
  let spans = 0;
  let attributes = 0;
  // An explicit stack of (message type, end offset); no recursion, however deep the nesting.
  const types = new Uint8Array(MAX_DEPTH + 2);
  const ends = new Float64Array(MAX_DEPTH + 2);
  let depth = 0;
  types[0] = M.Request;
  ends[0] = buf.length;
  const length = buf.length;
  let pos = 0;
  for (;;) {
    if (pos >= ends[depth]!) {
      if (depth === 0) return { ok: true };
      depth--;
      continue;
    }
    // Field header: a varint (field number << 3 | wire type); OTLP's fit in one or two bytes.
    let b = buf[pos++]!;
    let tag = b;
    if (b & 0x80) {
      tag &= 0x7f;
      let shift = 7;
      do {
        if (pos >= length || shift > 28) return { ok: true }; // malformed: the decoder says why
        b = buf[pos++]!;
        tag += (b & 0x7f) * 2 ** shift;
        shift += 7;
      } while (b & 0x80);
    }
    const wire = tag % 8;
    if (wire === 2) {
      let len = 0;
      let shift = 0;
      do {
        if (pos >= length || shift > 28) return { ok: true };
        b = buf[pos++]!;
        len += (b & 0x7f) * 2 ** shift;
        shift += 7;
      } while (b & 0x80);
      const end = pos + len;
      if (end > ends[depth]!) return { ok: true };
      const outer = types[depth]! as M;
      const type = inner(outer, (tag - wire) / 8);
      if (type < 0) {
        pos = end;
        continue;
      }
      if (type === M.Span) {
        if (++spans > maxSpans) return { ok: false, message: tooMuch(`more than ${maxSpans} spans`) };
      } else if (type === M.KeyValue || outer === M.ArrayValue) {
        if (++attributes > maxAttributes)
          return { ok: false, message: tooMuch(`more than ${maxAttributes} attributes`) };
      }
      // Most attributes hold a plain value: nothing more in them to count, no need to walk in.
      if (type === M.KeyValue && depth + 2 <= MAX_DEPTH && flatKeyValue(buf, pos, end)) {
        pos = end;
        continue;
      }
      if (depth + 1 > MAX_DEPTH)
        return { ok: false, message: `attribute values nested deeper than ${MAX_DEPTH} levels` };
      depth++;
      types[depth] = type;
      ends[depth] = end;
    } else if (wire === 0) {
      while (pos < length && buf[pos++]! & 0x80);
    } else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else return { ok: true }; // groups and unknown wire types: malformed for OTLP
  }
}

/**
 * Whether the KeyValue in `buf[pos, end)` is well formed and holds no array or key-value list
 * (so the walk would count nothing more in it). False when unsure: the walk then goes in.
 * Tags of more than one byte (field numbers over 15) are left to the walk.
 */
function flatKeyValue(buf: Uint8Array, pos: number, end: number): boolean {
  while (pos < end) {
    const tag = buf[pos++]!;
    if ((tag & 0x87) !== 2) return false; // a KeyValue's fields are length-delimited
    const valueEnd = lengthEnd(buf, pos, end);
    if (valueEnd < 0) return false;
    if (tag === 0x12 && !flatAnyValue(buf, lengthStart(buf, pos), valueEnd)) return false;
    pos = valueEnd;
  }
  return pos === end;
}

/** Whether the AnyValue in `buf[pos, end)` is well formed and holds no array (field 5) or list (6). */
function flatAnyValue(buf: Uint8Array, pos: number, end: number): boolean {
  while (pos < end) {
    const tag = buf[pos++]!;
    if (tag & 0x80) return false;
    const wire = tag & 7;
    if (wire === 2) {
      if (tag === 0x2a || tag === 0x32) return false;
      const e = lengthEnd(buf, pos, end);
      if (e < 0) return false;
      pos = e;
    } else if (wire === 0) {
      while (pos < end && buf[pos++]! & 0x80);
    } else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else return false;
  }
  return pos === end;
}

/** The end of the length-delimited field whose length varint starts at `pos`, or -1 past `end`. */
function lengthEnd(buf: Uint8Array, pos: number, end: number): number {
  let len = 0;
  let shift = 0;
  let b: number;
  do {
    if (pos >= end || shift > 28) return -1;
    b = buf[pos++]!;
    len += (b & 0x7f) * 2 ** shift;
    shift += 7;
  } while (b & 0x80);
  return pos + len <= end ? pos + len : -1;
}

/** Where the content of the length-delimited field whose length varint starts at `pos` begins. */
function lengthStart(buf: Uint8Array, pos: number): number {
  while (buf[pos++]! & 0x80);
  return pos;
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
