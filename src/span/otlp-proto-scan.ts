import type { AttributeFilter } from './attribute-filter.js';
import { boundedName, MAX_FILTERED_NAME_LENGTH } from './attribute-filter.js';
import {
  EMPTY_ATTRIBUTES,
  EMPTY_EVENTS,
  kindFromOtlp,
  nanosBitsToMs,
  parentIsRemoteFromFlags,
  statusCodeFrom,
} from './otlp-common.js';
import type { AttrValue, Attributes, SpanView } from './span-view.js';
import { WireReader } from './wire-reader.js';
import type { KnownKey } from './wire-keys.js';
import { hex, KeyCache, utf8 } from './wire-keys.js';
import { anyValue, fieldEnd, skipField, wire } from './wire-values.js';
import type { LimitCount } from './request-limits.js';

/**
 * OTLP/protobuf ExportTraceServiceRequest → SpanViews under an attribute filter, read straight
 * from the wire (wire-reader.ts) instead of decoded whole: only the span fields billing
 * reads are read, and of the attributes only the keys; a value is decoded only when the filter
 * keeps its key, everything else (refused values, events, links, status messages, trace state,
 * scope attributes) is skipped by its length and never becomes a string or an object. The
 * result equals the full decode followed by the same filter (test/span/otlp-proto-scan.test.ts
 * compares both on every recorded trace); it is stricter on malformed input: a length running
 * past its message, or a known field with the wrong wire type, makes the request invalid.
 * With `count`, the request's spans and attributes are counted against its limits as it is read
 * (what is read is counted here, what is skipped is walked by `count`): past them, it throws
 * RequestTooLarge before more is built. Throws on malformed input (the caller turns it into an
 * error); see decodeTraceRequest.
 */
export function scanTraceRequest(
  input: Buffer,
  filter: AttributeFilter,
  spans: SpanView[],
  errors: string[],
  count?: LimitCount,
): void {
  const s = new Scan(input, filter, spans, errors, count);
  s.request();
}

const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);
const UNSET: SpanView['status'] = Object.freeze({ code: 0 });
/** Bytes of a name decoded at most: enough for MAX_FILTERED_NAME_LENGTH UTF-16 units (≤ 3 bytes each). */
const NAME_BYTES = 3 * MAX_FILTERED_NAME_LENGTH + 4;

class Scan {
  private readonly r: WireReader;
  private readonly buf: Buffer;
  /** Ranges found by a first pass over a message (start, end pairs), reused. */
  private readonly keys: KeyCache;
  /** The key of the attribute before, in the list being read (undefined: at its start). */
  private previous: KnownKey | undefined;
  private readonly spans: SpanView[];
  private readonly errors: string[];
  /** The request limits' count (undefined: a body too small to pass them, not counted). */
  private readonly count: LimitCount | undefined;

  constructor(
    buf: Buffer,
    filter: AttributeFilter,
    spans: SpanView[],
    errors: string[],
    count: LimitCount | undefined,
  ) {
    this.buf = buf;
    this.r = new WireReader(buf);
    this.keys = new KeyCache(filter);
    this.spans = spans;
    this.errors = errors;
    this.count = count;
  }

  request(): void {
    const r = this.r;
    const limit = this.buf.length;
    let index = 0;
    while (r.pos < limit) {
      const tag = r.uint32();
      if (tag >>> 3 === 1) {
        const end = fieldEnd(this.r, tag, limit);
        this.resourceSpans(end, index++);
        r.pos = end;
      } else skipField(this.r, tag, limit);
    }
  }

  /**
   * One ResourceSpans: a first pass over its fields finds the resource (its fields may come in
   * any order), a second reads its scope spans, a third its instrumentation library spans (the
   * order the full decode gives). Field positions are not collected: a request of millions of
   * empty entries costs its walk, never memory.
   */
  private resourceSpans(limit: number, index: number): void {
    const r = this.r;
    const start = r.pos;
    let resStart = -1;
    let resEnd = -1;
    let libraries = false;
    while (r.pos < limit) {
      const tag = r.uint32();
      const field = tag >>> 3;
      if (field === 1 || field === 2 || field === 1000) {
        const end = fieldEnd(this.r, tag, limit);
        if (field === 1) {
          resStart = r.pos;
          resEnd = end;
          this.count?.resource(this.buf, resStart, end);
        } else if (field === 1000) libraries = true;
        r.pos = end;
      } else skipField(this.r, tag, limit);
    }
    let resource = EMPTY_ATTRIBUTES;
    if (resStart >= 0) {
      r.pos = resStart;
      resource = this.keyValues(resEnd, 1); // counted above, with any resource before it
    }
    this.eachScopeSpans(start, limit, 2, resource, index);
    if (libraries) this.eachScopeSpans(start, limit, 1000, resource, index);
  }

  /** Reads every ScopeSpans in field `field` of the ResourceSpans in `[start, limit)`, in order. */
  private eachScopeSpans(
    start: number,
    limit: number,
    field: number,
    resource: Attributes,
    rIndex: number,
  ): void {
    const r = this.r;
    r.pos = start;
    let sIndex = 0;
    while (r.pos < limit) {
      const tag = r.uint32();
      if (tag >>> 3 === field) {
        const end = fieldEnd(this.r, tag, limit);
        this.scopeSpans(r.pos, end, resource, rIndex, sIndex++, field === 1000);
        r.pos = end;
      } else skipField(this.r, tag, limit);
    }
  }

  /** One ScopeSpans: a first pass finds its scope, a second reads its spans in order. */
  private scopeSpans(
    start: number,
    limit: number,
    resource: Attributes,
    rIndex: number,
    sIndex: number,
    library: boolean,
  ): void {
    const r = this.r;
    r.pos = start;
    let scStart = -1;
    let scEnd = -1;
    let spans = false;
    while (r.pos < limit) {
      const tag = r.uint32();
      const field = tag >>> 3;
      if (field === 1 || field === 2) {
        const end = fieldEnd(this.r, tag, limit);
        if (field === 1) {
          scStart = r.pos;
          scEnd = end;
          this.count?.scope(this.buf, scStart, end);
        } else spans = true;
        r.pos = end;
      } else skipField(this.r, tag, limit);
    }
    if (!spans) return;
    let scope: SpanView['scope'] = { name: '' };
    if (scStart >= 0) {
      r.pos = scStart;
      let name = '';
      let version = '';
      while (r.pos < scEnd) {
        const tag = r.uint32();
        const field = tag >>> 3;
        if (field === 1 || field === 2) {
          const end = fieldEnd(this.r, tag, scEnd);
          const text = this.name(r.pos, end);
          if (field === 1) name = text;
          else version = text;
          r.pos = end;
        } else skipField(this.r, tag, scEnd);
      }
      scope = version !== '' ? { name, version } : { name };
    }
    r.pos = start;
    let i = 0;
    while (r.pos < limit) {
      const tag = r.uint32();
      if (tag >>> 3 !== 2) {
        skipField(this.r, tag, limit);
        continue;
      }
      const end = fieldEnd(this.r, tag, limit);
      this.count?.span();
      const view = this.span(r.pos, end, resource, scope);
      if (typeof view === 'string') {
        const path = `resourceSpans[${rIndex}].${library ? 'instrumentationLibrarySpans' : 'scopeSpans'}`;
        this.errors.push(`${path}[${sIndex}].spans[${i}]: ${view}`);
      } else this.spans.push(view);
      i++;
      r.pos = end;
    }
  }

  /** A span or scope name, bounded as a filter keeps it (a long one is not decoded whole). */
  private name(start: number, end: number): string {
    return boundedName(utf8(this.buf, start, Math.min(end, start + NAME_BYTES)));
  }

  private span(
    start: number,
    limit: number,
    resource: Attributes,
    scope: SpanView['scope'],
  ): SpanView | string {
    const r = this.r;
    r.pos = start;
    this.previous = undefined;
    let traceStart = 0;
    let traceEnd = 0;
    let spanStart = 0;
    let spanEnd = 0;
    let parentStart = 0;
    let parentEnd = 0;
    let nameStart = 0;
    let nameEnd = 0;
    let flags = 0;
    let kind = 0;
    let startLow = 0;
    let startHigh = 0;
    let endLow = 0;
    let endHigh = 0;
    let statusStart = -1;
    let statusEnd = -1;
    let attributes: Record<string, AttrValue> | undefined;
    while (r.pos < limit) {
      const tag = r.uint32();
      switch (tag >>> 3) {
        case 1:
          traceEnd = fieldEnd(this.r, tag, limit);
          traceStart = r.pos;
          r.pos = traceEnd;
          break;
        case 2:
          spanEnd = fieldEnd(this.r, tag, limit);
          spanStart = r.pos;
          r.pos = spanEnd;
          break;
        case 4:
          parentEnd = fieldEnd(this.r, tag, limit);
          parentStart = r.pos;
          r.pos = parentEnd;
          break;
        case 5:
          nameEnd = fieldEnd(this.r, tag, limit);
          nameStart = r.pos;
          r.pos = nameEnd;
          break;
        case 6:
          wire(tag, 0, limit);
          kind = r.int32();
          break;
        case 7:
          wire(tag, 1, limit);
          startLow = r.fixed32();
          startHigh = r.fixed32();
          break;
        case 8:
          wire(tag, 1, limit);
          endLow = r.fixed32();
          endHigh = r.fixed32();
          break;
        case 9: {
          const end = fieldEnd(this.r, tag, limit);
          const count = this.count;
          if (count !== undefined) count.attribute();
          attributes = this.keyValue(end, attributes ?? {}, count);
          r.pos = end;
          break;
        }
        case 11:
        case 13: {
          // Events and links are not read, only counted (when the request is).
          const count = this.count;
          if (count === undefined || (tag & 7) !== 2) {
            skipField(this.r, tag, limit);
            break;
          }
          const end = fieldEnd(this.r, tag, limit);
          if (tag >>> 3 === 11) count.event(this.buf, r.pos, end);
          else count.link(this.buf, r.pos, end);
          r.pos = end;
          break;
        }
        case 15:
          statusEnd = fieldEnd(this.r, tag, limit);
          statusStart = r.pos;
          r.pos = statusEnd;
          break;
        case 16:
          wire(tag, 5, limit);
          flags = r.fixed32();
          break;
        default:
          skipField(this.r, tag, limit);
      }
      if (r.pos > limit) throw new RangeError(`span field at offset ${r.pos} runs past its span`);
    }
    const buf = this.buf;
    if (traceEnd - traceStart !== 16) return `invalid traceId (${traceEnd - traceStart} bytes, need 16)`;
    if (spanEnd - spanStart !== 8) return `invalid spanId (${spanEnd - spanStart} bytes, need 8)`;
    const traceId = hex(buf, traceStart, traceEnd);
    const spanId = hex(buf, spanStart, spanEnd);
    if (traceId === ZERO_TRACE) return 'invalid traceId (all zero)';
    if (spanId === ZERO_SPAN) return 'invalid spanId (all zero)';
    let parentSpanId: string | undefined;
    const parentLength = parentEnd - parentStart;
    if (parentLength !== 0) {
      if (parentLength !== 8) return `invalid parentSpanId (${parentLength} bytes, need 8 or none)`;
      parentSpanId = hex(buf, parentStart, parentEnd);
      if (parentSpanId === ZERO_SPAN) parentSpanId = undefined;
    }
    const startTimeMs = nanosBitsToMs(startLow, startHigh);
    if (startTimeMs === 0) return 'missing startTimeUnixNano';
    const endTimeMs = nanosBitsToMs(endLow, endHigh);
    let status = UNSET;
    if (statusStart >= 0) {
      // Only the code: the message is free text (often the provider's error, with the request in it).
      let code = 0;
      r.pos = statusStart;
      while (r.pos < statusEnd) {
        const tag = r.uint32();
        if (tag >>> 3 === 3) {
          wire(tag, 0, statusEnd);
          code = r.int32();
        } else skipField(this.r, tag, statusEnd);
      }
      const c = statusCodeFrom(code);
      status = c === 0 ? UNSET : { code: c };
    }
    return {
      traceId,
      spanId,
      parentSpanId,
      parentIsRemote: (parentSpanId !== undefined && parentIsRemoteFromFlags(flags)) || undefined,
      name: nameEnd > nameStart ? this.name(nameStart, nameEnd) : '',
      kind: kindFromOtlp(kind),
      startTimeMs,
      endTimeMs: endTimeMs === 0 ? startTimeMs : endTimeMs,
      status,
      attributes: attributes ?? EMPTY_ATTRIBUTES,
      resource,
      scope,
      events: EMPTY_EVENTS,
    };
  }

  /** The repeated KeyValue field `field` of the message ending at `limit`, through the filter. */
  private keyValues(limit: number, field: number): Attributes {
    const r = this.r;
    this.previous = undefined;
    let out: Record<string, AttrValue> | undefined;
    while (r.pos < limit) {
      const tag = r.uint32();
      if (tag >>> 3 === field) {
        const end = fieldEnd(this.r, tag, limit);
        out = this.keyValue(end, out ?? {}, undefined);
        r.pos = end;
      } else skipField(this.r, tag, limit);
    }
    return out ?? EMPTY_ATTRIBUTES;
  }

  /**
   * One KeyValue (from the reader's position to `limit`) into `out`, as the filter keeps it: the
   * key is read first; a value is decoded only when the filter has a rule for its key. With
   * `count`, what a span attribute's values hold beyond a plain value is counted.
   */
  private keyValue(
    limit: number,
    out: Record<string, AttrValue>,
    count: LimitCount | undefined,
  ): Record<string, AttrValue> {
    const r = this.r;
    let keyStart = 0;
    let keyEnd = 0;
    let valueStart = -1;
    let valueEnd = -1;
    while (r.pos < limit) {
      const tag = r.uint32();
      const field = tag >>> 3;
      if (field === 1 || field === 2) {
        const end = fieldEnd(this.r, tag, limit);
        if (field === 1) {
          keyStart = r.pos;
          keyEnd = end;
        } else {
          valueStart = r.pos;
          valueEnd = end;
          if (count !== undefined) count.spanValue(this.buf, valueStart, end);
        }
        r.pos = end;
      } else skipField(this.r, tag, limit);
    }
    const known = this.keys.lookup(this.buf, keyStart, keyEnd, this.previous);
    this.previous = known;
    const rule = known.rule;
    if (rule === undefined) return out;
    const key = known.key;
    const kept = rule(valueStart >= 0 ? anyValue(this.r, valueStart, valueEnd, 0) : null);
    if (kept !== undefined) out[key] = kept;
    // A later duplicate its rule drops drops the earlier one too (as the full decode does).
    else delete out[key];
    return out;
  }
}
