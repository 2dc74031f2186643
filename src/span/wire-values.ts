import { MAX_ANY_VALUE_DEPTH } from './from-otlp-json.js';
import { int64Value } from './otlp-common.js';
import type { AttrValue } from './span-view.js';
import type { WireReader } from './wire-reader.js';
import { utf8 } from './wire-keys.js';

/**
 * The OTLP scanner's field reads over a {@link WireReader}: a field's end checked against its
 * message's, skipping, int64 values, and the AnyValue of a kept attribute decoded as the full
 * decode gives it. Every length is checked against the end of the message it sits in.
 */

/**
 * The end of the length-delimited field `tag` (a known field: any other wire type is an error)
 * whose length comes next, checked against its message's end.
 */
export function fieldEnd(r: WireReader, tag: number, limit: number): number {
  wire(tag, 2, limit);
  const len = r.uint32();
  const end = r.pos + len;
  if (end > limit) throw new RangeError(`length ${len} at offset ${r.pos} runs past its message`);
  return end;
}

/** Skips a field this scan does not read, within its message. */
export function skipField(r: WireReader, tag: number, limit: number): void {
  r.skipType(tag & 7);
  if (r.pos > limit) throw new RangeError(`field at offset ${r.pos} runs past its message`);
}

/**
 * A varint int64 as the full decode gives it (a number when safe, else its decimal digits),
 * read as two 32-bit halves: no Long object per value.
 */
export function readInt64(r: WireReader, limit: number): number | string {
  const buf = r.buf;
  let pos = r.pos;
  let low = 0;
  let high = 0;
  let b = 0x80;
  let i = 0;
  for (; i < 4 && b & 0x80; i++) {
    if (pos >= limit) throw new RangeError(`varint at offset ${pos} runs past its message`);
    b = buf[pos++]!;
    low |= (b & 0x7f) << (7 * i);
  }
  if (b & 0x80) {
    if (pos >= limit) throw new RangeError(`varint at offset ${pos} runs past its message`);
    b = buf[pos++]!;
    low |= (b & 0x7f) << 28;
    high = (b & 0x7f) >> 4;
    for (i = 0; i < 5 && b & 0x80; i++) {
      if (pos >= limit) throw new RangeError(`varint at offset ${pos} runs past its message`);
      b = buf[pos++]!;
      high |= (b & 0x7f) << (7 * i + 3);
    }
    if (b & 0x80) throw new RangeError(`invalid varint encoding at offset ${pos}`);
  }
  r.pos = pos;
  return int64({ low, high });
}

/**
 * An AnyValue of a kept key, as the full decode gives it: of several members set, the same one
 * wins (string, int, double, bool, array, kvlist, bytes); nested deeper than OTLP/JSON keeps → null.
 */
export function anyValue(r: WireReader, start: number, limit: number, depth: number): AttrValue {
  if (depth > MAX_ANY_VALUE_DEPTH) return null;
  r.pos = start;
  let str = -1;
  let strEnd = 0;
  let int: AttrValue | undefined;
  let dbl: number | undefined;
  let bool: boolean | undefined;
  let arr = -1;
  let arrEnd = 0;
  let kv = -1;
  let kvEnd = 0;
  let bytes = -1;
  let bytesEnd = 0;
  while (r.pos < limit) {
    const tag = r.uint32();
    switch (tag >>> 3) {
      case 1:
        strEnd = fieldEnd(r, tag, limit);
        str = r.pos;
        r.pos = strEnd;
        break;
      case 2:
        wire(tag, 0, limit);
        bool = r.bool();
        break;
      case 3:
        wire(tag, 0, limit);
        int = readInt64(r, limit);
        break;
      case 4:
        wire(tag, 1, limit);
        dbl = r.double();
        break;
      case 5:
        arrEnd = fieldEnd(r, tag, limit);
        arr = r.pos;
        r.pos = arrEnd;
        break;
      case 6:
        kvEnd = fieldEnd(r, tag, limit);
        kv = r.pos;
        r.pos = kvEnd;
        break;
      case 7:
        bytesEnd = fieldEnd(r, tag, limit);
        bytes = r.pos;
        r.pos = bytesEnd;
        break;
      default:
        skipField(r, tag, limit);
    }
    if (r.pos > limit) throw new RangeError(`value at offset ${r.pos} runs past its message`);
  }
  if (str >= 0) return utf8(r.buf, str, strEnd);
  if (int !== undefined) return int;
  if (dbl !== undefined) return dbl;
  if (bool !== undefined) return bool;
  if (arr >= 0) {
    const out: AttrValue[] = [];
    r.pos = arr;
    while (r.pos < arrEnd) {
      const tag = r.uint32();
      if (tag >>> 3 === 1) {
        const end = fieldEnd(r, tag, arrEnd);
        out.push(anyValue(r, r.pos, end, depth + 1));
        r.pos = end;
      } else skipField(r, tag, arrEnd);
    }
    return out;
  }
  if (kv >= 0) {
    const out: Record<string, AttrValue> = {};
    r.pos = kv;
    while (r.pos < kvEnd) {
      const tag = r.uint32();
      if (tag >>> 3 === 1) {
        const end = fieldEnd(r, tag, kvEnd);
        nestedKeyValue(r, end, out, depth + 1);
        r.pos = end;
      } else skipField(r, tag, kvEnd);
    }
    return out;
  }
  if (bytes >= 0) return Uint8Array.from(r.buf.subarray(bytes, bytesEnd)); // a copy: the input may be reused
  return null;
}

/** A KeyValue inside a kvlist value: kept whole (its attribute's rule decides what stays). */
function nestedKeyValue(r: WireReader, limit: number, out: Record<string, AttrValue>, depth: number): void {
  let key = '';
  let valueStart = -1;
  let valueEnd = -1;
  while (r.pos < limit) {
    const tag = r.uint32();
    const field = tag >>> 3;
    if (field === 1 || field === 2) {
      const end = fieldEnd(r, tag, limit);
      if (field === 1) key = utf8(r.buf, r.pos, end);
      else {
        valueStart = r.pos;
        valueEnd = end;
      }
      r.pos = end;
    } else skipField(r, tag, limit);
  }
  out[key] = valueStart >= 0 ? anyValue(r, valueStart, valueEnd, depth) : null;
}

/** The tag's wire type must be `expected` (a known field); returns `limit` for chaining. */
export function wire(tag: number, expected: number, limit: number): number {
  if ((tag & 7) !== expected)
    throw new TypeError(`field ${tag >>> 3} has wire type ${tag & 7}, expected ${expected}`);
  return limit;
}

type PbInt64 = { low: number; high: number } | number;

/** int64 (a signed Long or a number) → number when safe, else its decimal string. */
export function int64(v: PbInt64): number | string {
  if (typeof v === 'number') return v;
  const high = v.high | 0;
  if (high >= -0x200000 && high < 0x200000) return high * 4294967296 + (v.low >>> 0);
  return int64Value((BigInt(high) * 4294967296n + BigInt(v.low >>> 0)).toString());
}
