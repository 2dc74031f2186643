import type { AttributeRule } from '../span/attribute-filter.js';
import { toJsonObject } from '../span/attributes.js';
import type { AttrValue } from '../span/span-view.js';
import { asAmount, parseCount } from './attribute-scan.js';

/**
 * Reductions of attributes that hold content beside what billing reads, applied by the
 * attribute filter before anything is held (see `keyList(keys, reduce)`): a JSON usage object
 * (a provider's raw usage, the AI SDK's provider metadata) keeps its count fields and nothing
 * else; a Logfire request keeps whether it streamed. Readers give the same answer on the
 * reduced value as on the whole one (test/genai/billing-keys.test.ts).
 */

/**
 * The fields read of a JSON object: `0` a count, `'usd'` an amount, an object a nested object
 * read the same way.
 */
export interface JsonShape {
  readonly [key: string]: JsonShape | 0 | 'usd';
}

/** What a count field that does not state a count becomes: still not a count for `parseCount`. */
const NOT_A_COUNT = 'not a count';

function reduceObject(o: Record<string, unknown>, shape: JsonShape): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key in shape) {
    if (!Object.hasOwn(o, key)) continue;
    const field = shape[key]!;
    const v = o[key];
    if (field === 'usd') {
      out[key] = typeof v === 'number' || typeof v === 'string' ? (asAmount(v) ?? null) : null;
    } else if (field === 0) {
      // Counts stay as stated when they are counts (or unstated); anything else, however odd,
      // stays not a count.
      const n = parseCount(v);
      out[key] = n === undefined ? null : Number.isNaN(n) ? NOT_A_COUNT : v;
    } else {
      out[key] =
        v !== null && typeof v === 'object' && !Array.isArray(v)
          ? reduceObject(v as Record<string, unknown>, field)
          : null;
    }
  }
  return out;
}

/** Objects a rule made: given again, they are kept as they are (a rule must be idempotent). */
const reduced = new WeakSet<object>();

/**
 * A rule keeping only the count fields of `shape` of a JSON object attribute (a JSON string or
 * an OTLP kvlist), as an object (readers take one as they take the JSON text, without parsing
 * it again). A value that is not a JSON object is kept as `''`: the attribute is still present,
 * and still holds no object.
 */
export function countsOnly(shape: JsonShape): AttributeRule {
  return (v: AttrValue): AttrValue => {
    if (typeof v === 'object' && v !== null && reduced.has(v)) return v;
    const o = toJsonObject(v);
    if (o === undefined) return '';
    const out = reduceObject(o, shape) as AttrValue & object;
    reduced.add(out);
    return out;
  };
}

/** A rule keeping only that the attribute is there (markers whose text is free). */
export const presenceOnly: AttributeRule = () => '';

/** Merges shapes (the fields of each). */
export function shapeOf(...shapes: JsonShape[]): JsonShape {
  const out: Record<string, JsonShape[string]> = {};
  for (const s of shapes) {
    for (const [k, v] of Object.entries(s)) {
      const prev = out[k];
      out[k] = typeof v === 'object' && typeof prev === 'object' ? shapeOf(prev, v) : v;
    }
  }
  return out;
}
