/**
 * What one OTLP request may cost, checked before it is decoded: decoding builds objects for
 * every span and every attribute (about 100-150 bytes of heap each, and the CPU to match), so
 * a 20 MB body of 10 M empty spans would otherwise take gigabytes and seconds. A walk over the
 * encoded body counts spans and attributes without building anything and stops at the first
 * limit passed, so an oversized request costs about as much as the limits themselves; the
 * request is refused (413: the sender must split it) and never decoded.
 *
 * Protobuf: the walk follows the OTLP trace schema (resource spans → scope spans → spans →
 * attributes, events, links; nested attribute values count as attributes too). The sidecar's
 * scanner counts the same as it reads ({@link LimitCount}): the spans and span attributes it
 * reads are counted there, the parts it skips (resource and scope attributes, events, links,
 * values nested in an attribute) are walked, and it stops at the first limit passed, before
 * more is built; one pass over the body instead of two.
 *
 * JSON: objects and arrays are counted (outside strings), since parsing builds one for each,
 * whatever it holds (20 MB of empty arrays parse to 280 MB of heap). An attribute is two objects
 * (the key/value and its value; an element of an array value one); a span is an object, three
 * arrays (attributes, events, links), a status, its events..., and a request has resource and
 * scope objects around them (the recorded traces hold 6 to 12 per span beyond their attributes'):
 * a JSON request may hold up to `16 × maxSpans + 2 × maxAttributes` of them. Scalars are not
 * counted: parsed, they take a few times their bytes at most, within the body limits.
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

/** A request past its limits; its message says which, for the sender (413). */
export class RequestTooLarge extends Error {}

/**
 * Whether a protobuf body of `length` bytes can pass the limits at all: every span and every
 * attribute takes at least 2 bytes, so a smaller body needs no counting.
 */
export function mayPassLimits(length: number, limits: RequestLimits): boolean {
  return length >= 2 * Math.min(limits.maxSpans, limits.maxAttributes);
}

/**
 * The spans and attributes of one OTLP/protobuf request counted against the limits, throwing
 * {@link RequestTooLarge} at the first one past them. {@link checkProtobuf} walks a whole body
 * with it; the sidecar's scanner counts the spans and attributes it reads itself and has the
 * parts it skips unread (events, links, scope attributes, nested values) walked: the same counts
 * in one pass over the body.
 */
export class LimitCount {
  spans = 0;
  attributes = 0;
  private readonly _maxSpans: number;
  private readonly _maxAttributes: number;
  /** An explicit stack of (message type, end offset), reused: no recursion, however deep. */
  private readonly _types = new Uint8Array(MAX_DEPTH + 2);
  private readonly _ends = new Float64Array(MAX_DEPTH + 2);

  constructor(limits: RequestLimits) {
    this._maxSpans = limits.maxSpans;
    this._maxAttributes = limits.maxAttributes;
  }

  span(): void {
    if (++this.spans > this._maxSpans)
      throw new RequestTooLarge(tooMuch(`more than ${this._maxSpans} spans`));
  }

  attribute(): void {
    if (++this.attributes > this._maxAttributes)
      throw new RequestTooLarge(tooMuch(`more than ${this._maxAttributes} attributes`));
  }

  /**
   * Counts what the value of a span attribute, the AnyValue in `buf[start, end)`, holds beyond a
   * plain value (array elements, list entries, at every level): nothing to walk for a plain value.
   */
  spanValue(buf: Uint8Array, start: number, end: number): void {
    if (!flatAnyValue(buf, start, end)) this.walk(buf, start, end, M.AnyValue, 5);
  }

  /** Counts a whole ExportTraceServiceRequest. */
  request(buf: Uint8Array): void {
    this.walk(buf, 0, buf.length, M.Request, 0);
  }

  /** Counts the attributes of the Resource in `buf[start, end)`. */
  resource(buf: Uint8Array, start: number, end: number): void {
    this.walk(buf, start, end, M.Resource, 2);
  }

  /** Counts the attributes of the InstrumentationScope in `buf[start, end)`. */
  scope(buf: Uint8Array, start: number, end: number): void {
    this.walk(buf, start, end, M.Scope, 3);
  }

  /** Counts the attributes of the span event in `buf[start, end)`. */
  event(buf: Uint8Array, start: number, end: number): void {
    this.walk(buf, start, end, M.Event, 4);
  }

  /** Counts the attributes of the span link in `buf[start, end)`. */
  link(buf: Uint8Array, start: number, end: number): void {
    this.walk(buf, start, end, M.Link, 4);
  }

  /**
   * Counts the spans and attributes inside the message of type `type` in `buf[start, end)`, at
   * nesting `depth` (the request is 0; the message itself is counted by the caller). Malformed
   * input stops the walk: the decoder says what is wrong.
   */
  private walk(buf: Uint8Array, start: number, end: number, type: M, depth: number): void {
    const types = this._types;
    const ends = this._ends;
    let top = 0;
    types[0] = type;
    ends[0] = end;
    let pos = start;
    for (;;) {
      if (pos >= ends[top]!) {
        if (top === 0) return;
        top--;
        continue;
      }
      // Field header: a varint (field number << 3 | wire type); OTLP's fit in one or two bytes.
      let b = buf[pos++]!;
      let tag = b;
      if (b & 0x80) {
        tag &= 0x7f;
        let shift = 7;
        do {
          if (pos >= end || shift > 28) return; // malformed: the decoder says why
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
          if (pos >= end || shift > 28) return;
          b = buf[pos++]!;
          len += (b & 0x7f) * 2 ** shift;
          shift += 7;
        } while (b & 0x80);
        const fieldEnd = pos + len;
        if (fieldEnd > ends[top]!) return;
        const outer = types[top]! as M;
        const child = inner(outer, (tag - wire) / 8);
        if (child < 0) {
          pos = fieldEnd;
          continue;
        }
        if (child === M.Span) this.span();
        else if (child === M.KeyValue || outer === M.ArrayValue) this.attribute();
        const level = depth + top;
        // Most attributes hold a plain value: nothing more in them to count, no need to walk in.
        if (child === M.KeyValue && level + 2 <= MAX_DEPTH && flatKeyValue(buf, pos, fieldEnd)) {
          pos = fieldEnd;
          continue;
        }
        if (level + 1 > MAX_DEPTH)
          throw new RequestTooLarge(`attribute values nested deeper than ${MAX_DEPTH} levels`);
        top++;
        types[top] = child;
        ends[top] = fieldEnd;
      } else if (wire === 0) {
        while (pos < end && buf[pos++]! & 0x80);
      } else if (wire === 1) pos += 8;
      else if (wire === 5) pos += 4;
      else return; // groups and unknown wire types: malformed for OTLP
    }
  }
}

/**
 * Checks an OTLP/protobuf ExportTraceServiceRequest against the limits, without decoding it.
 * A body too small to pass them (every span or attribute takes at least 2 bytes) is not walked.
 * Counted: spans; attributes are key/values (at every level) and the elements of array values.
 */
export function checkProtobuf(buf: Uint8Array, limits: RequestLimits): LimitCheck {
  if (!mayPassLimits(buf.length, limits)) return { ok: true };
  try {
    new LimitCount(limits).request(buf);
  } catch (e) {
    if (e instanceof RequestTooLarge) return { ok: false, message: e.message };
    throw e;
  }
  return { ok: true };
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
 * Checks an OTLP/JSON body against the limits, without parsing it: objects and arrays outside
 * strings are counted (see the module note).
 */
export function checkJson(buf: Uint8Array, limits: RequestLimits): LimitCheck {
  const max = 16 * limits.maxSpans + 2 * limits.maxAttributes;
  if (buf.length < 2 * max) return { ok: true };
  let containers = 0;
  let inString = false;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i]!;
    if (inString) {
      if (c === 0x5c)
        i++; // a backslash escapes the next byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if ((c === 0x7b || c === 0x5b) && ++containers > max)
      return {
        ok: false,
        message: tooMuch(
          `more than ${max} JSON objects and arrays (at most ${limits.maxSpans} spans and ${limits.maxAttributes} attributes)`,
        ),
      };
  }
  return { ok: true };
}

function tooMuch(what: string): string {
  return `the request holds ${what}: send smaller batches (the limits are --max-request-spans and --max-request-attrs)`;
}
