import type { Attributes, SpanEventView, SpanKindValue, StatusCodeValue } from './span-view.js';

/** Shared by the SpanView adapters: constants and number conversions. Never throws. */

export const EMPTY_ATTRIBUTES: Attributes = Object.freeze({});
export const EMPTY_EVENTS: readonly SpanEventView[] = Object.freeze([]);
export const UNKNOWN_SCOPE: { readonly name: string } = Object.freeze({ name: '' });

/**
 * Epoch milliseconds from whole seconds and nanoseconds. Every adapter goes through this one
 * formula so that the same instant gives the same double whatever the source.
 */
export function epochMs(seconds: number, nanos: number): number {
  return seconds * 1000 + nanos / 1e6;
}

/**
 * OTLP span `flags` (fixed32): bit 0x100 says whether the parent's remoteness is known, bit
 * 0x200 that the parent is remote. True only when both are set. Accepts a number or a numeric
 * string (JSON encoders differ).
 */
export function parentIsRemoteFromFlags(flags: unknown): boolean {
  const n =
    typeof flags === 'number' ? flags : typeof flags === 'string' && /^\d+$/.test(flags) ? Number(flags) : 0;
  return (n & 0x300) === 0x300;
}

/** OTLP wire span kind (0 unspecified, 1 internal … 5 consumer) → @opentelemetry/api SpanKind. */
export function kindFromOtlp(n: number): SpanKindValue {
  switch (n) {
    case 2:
      return 1;
    case 3:
      return 2;
    case 4:
      return 3;
    case 5:
      return 4;
    default:
      return 0;
  }
}

const KIND_NAMES: Readonly<Record<string, number>> = {
  SPAN_KIND_UNSPECIFIED: 0,
  SPAN_KIND_INTERNAL: 1,
  SPAN_KIND_SERVER: 2,
  SPAN_KIND_CLIENT: 3,
  SPAN_KIND_PRODUCER: 4,
  SPAN_KIND_CONSUMER: 5,
};

/** A kind as an OTLP wire number or an enum name ("SPAN_KIND_CLIENT"); unknown → INTERNAL. */
export function kindFromJson(v: unknown): SpanKindValue {
  if (typeof v === 'number') return kindFromOtlp(v);
  if (typeof v === 'string') {
    const n = KIND_NAMES[v];
    if (n !== undefined) return kindFromOtlp(n);
    if (/^\d+$/.test(v)) return kindFromOtlp(Number(v));
  }
  return 0;
}

const STATUS_NAMES: Readonly<Record<string, StatusCodeValue>> = {
  STATUS_CODE_UNSET: 0,
  STATUS_CODE_OK: 1,
  STATUS_CODE_ERROR: 2,
};

/** A status code as a number (0 unset, 1 ok, 2 error) or an enum name; unknown → UNSET. */
export function statusCodeFrom(v: unknown): StatusCodeValue {
  if (v === 1 || v === 2) return v;
  if (typeof v === 'string') {
    const c = STATUS_NAMES[v];
    if (c !== undefined) return c;
    if (v === '1') return 1;
    if (v === '2') return 2;
  }
  return 0;
}

/**
 * int64 → number when it is a safe integer; a larger value stays its decimal string so no
 * digit is lost (the attribute readers coerce numeric strings).
 */
export function int64Value(digits: string): number | string {
  const n = Number(digits);
  return Number.isSafeInteger(n) ? n : digits;
}

/** A non-negative int64 of nanoseconds as a decimal string → epoch ms, or undefined if invalid. */
export function nanosStringToMs(s: string): number | undefined {
  if (!/^\d{1,20}$/.test(s)) return undefined;
  if (s.length <= 9) return epochMs(0, Number(s));
  return epochMs(Number(s.slice(0, -9)), Number(s.slice(-9)));
}

/** Nanoseconds given as a JSON number (possibly already rounded by the producer) → epoch ms. */
export function nanosNumberToMs(n: number): number | undefined {
  if (!Number.isFinite(n) || n < 0) return undefined;
  if (Number.isSafeInteger(n)) {
    const seconds = Math.floor(n / 1e9);
    return epochMs(seconds, n - seconds * 1e9);
  }
  return nanosStringToMs(BigInt(Math.trunc(n)).toString());
}

/** Unsigned 64-bit nanoseconds given as two 32-bit halves (protobuf fixed64) → epoch ms. */
export function nanosBitsToMs(low: number, high: number): number {
  const lo = low >>> 0;
  const hi = high >>> 0;
  // Estimate the seconds in floating point (off by at most one), then fix the remainder with
  // exact 32-bit arithmetic: the remainder is small, so its low 32 bits determine it.
  let seconds = Math.floor((hi * 4294967296 + lo) / 1e9);
  if (seconds < 4294967296) {
    let rem = (lo - Math.imul(seconds, 1e9)) | 0;
    if (rem < 0) {
      seconds -= 1;
      rem += 1e9;
    } else if (rem >= 1e9) {
      seconds += 1;
      rem -= 1e9;
    }
    return epochMs(seconds, rem);
  }
  const n = (BigInt(hi) << 32n) | BigInt(lo);
  return epochMs(Number(n / 1_000_000_000n), Number(n % 1_000_000_000n));
}
