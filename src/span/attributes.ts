import type { AttrValue, Attributes } from './span-view.js';

/**
 * Typed, forgiving readers over attributes. Instrumentations disagree on types (OTLP int64
 * arrives as a string, ids may be numbers), so readers coerce where the meaning is clear and
 * return undefined otherwise. They never throw.
 */

/** A string, or a finite number/boolean rendered as a string; empty strings are undefined. */
export function attrString(attrs: Attributes, key: string): string | undefined {
  const v = attrs[key];
  if (typeof v === 'string') return v.length > 0 ? v : undefined;
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : undefined;
  if (typeof v === 'boolean') return String(v);
  return undefined;
}

/** A finite number, or a numeric string (OTLP/JSON int64). */
export function attrNumber(attrs: Attributes, key: string): number | undefined {
  return toNumber(attrs[key]);
}

export function toNumber(v: AttrValue | undefined): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

export function attrBool(attrs: Attributes, key: string): boolean | undefined {
  const v = attrs[key];
  if (typeof v === 'boolean') return v;
  if (v === 'true') return true;
  if (v === 'false') return false;
  return undefined;
}

/** The first key (in order) with a string value. */
export function firstString(attrs: Attributes, keys: readonly string[]): string | undefined {
  for (const k of keys) {
    const v = attrString(attrs, k);
    if (v !== undefined) return v;
  }
  return undefined;
}

/** The first key (in order) with a numeric value. */
export function firstNumber(attrs: Attributes, keys: readonly string[]): number | undefined {
  for (const k of keys) {
    const v = attrNumber(attrs, k);
    if (v !== undefined) return v;
  }
  return undefined;
}

/** Parses a JSON-object attribute (e.g. `ai.response.providerMetadata`); undefined when not one. */
export function attrJsonObject(attrs: Attributes, key: string): Record<string, unknown> | undefined {
  const v = attrs[key];
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
