import type { AttrValue, Attributes } from './span-view.js';

/**
 * Typed, forgiving readers over attributes. Instrumentations disagree on types (OTLP int64
 * arrives as a string, ids may be numbers), so readers coerce where the meaning is clear and
 * return undefined otherwise. They never throw.
 */

/** A string, or a finite number/boolean rendered as a string; empty strings are undefined. */
export function toText(v: AttrValue | undefined): string | undefined {
  if (typeof v === 'string') return v.length > 0 ? v : undefined;
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : undefined;
  if (typeof v === 'boolean') return String(v);
  return undefined;
}

/** A finite number, or a numeric string (OTLP/JSON int64). */
export function toNumber(v: AttrValue | undefined): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/** The first key (in order) with a string value. */
export function firstString(attrs: Attributes, keys: readonly string[]): string | undefined {
  for (const k of keys) {
    const v = toText(attrs[k]);
    if (v !== undefined) return v;
  }
  return undefined;
}

/**
 * A JSON-object attribute value (e.g. `ai.response.providerMetadata`, a JSON string, or an
 * object from an OTLP kvlist), parsed; undefined when it is not one.
 */
export function toJsonObject(v: AttrValue | undefined): Record<string, unknown> | undefined {
  if (v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array)) {
    return v as Record<string, unknown>;
  }
  if (typeof v !== 'string' || v.length < 2 || v[0] !== '{') return undefined;
  try {
    const parsed: unknown = JSON.parse(v);
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
