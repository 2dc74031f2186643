import { toJsonObject, toNumber, toText } from '../span/attributes.js';
import type { AttrValue, Attributes } from '../span/span-view.js';

/**
 * Reading a GenAI span's attributes by walking its keys once.
 *
 * The converter asks for many attributes by name (every spelling of every usage count, model,
 * provider and tier, in the order of precedence), and most of the names it asks for are absent:
 * a GenAI span carries twenty-odd keys, the dialects know over a hundred. Attribute objects are
 * large dictionaries, so each absent name costs a hash probe. Instead every key list is
 * registered here once, and {@link scanAttributes} walks the span's own keys once, noting which
 * entries of which lists are present; a read then only looks at keys that are there.
 */

/** A list of keys meaning one thing, in priority order (at most 32). */
export interface KeyList {
  readonly id: number;
  readonly keys: readonly string[];
}

/** key → (list id << 5 | rank) for every list holding it. */
const INDEX = new Map<string, number[]>();
let lists = 0;

/** Registers a key list (at module load: the set of lists is fixed). */
export function keyList(keys: readonly string[]): KeyList {
  if (keys.length > 32) throw new Error(`a key list holds at most 32 keys (${keys[0]}…)`);
  const id = lists++;
  keys.forEach((key, rank) => {
    let at = INDEX.get(key);
    if (at === undefined) INDEX.set(key, (at = []));
    at.push((id << 5) | rank);
  });
  return { id, keys };
}

/** Whether `key` is read by the converter through some key list. */
export function isIndexedKey(key: string): boolean {
  return INDEX.has(key);
}

/** The attributes of one span, and which entries of each key list they hold. */
export interface AttributeScan {
  readonly attrs: Attributes;
  /** Per list: bit r set when `keys[r]` is present (not undefined). */
  readonly present: readonly number[];
}

export function scanAttributes(attrs: Attributes): AttributeScan {
  const present = new Array<number>(lists).fill(0);
  for (const key in attrs) {
    const at = INDEX.get(key);
    if (at === undefined || attrs[key] === undefined) continue;
    for (let i = 0; i < at.length; i++) {
      const e = at[i]!;
      present[e >>> 5]! |= 1 << (e & 31);
    }
  }
  return { attrs, present };
}

/** The first present key of `list` (in order) whose value `accept` turns into a value. */
export function firstIn<T>(
  s: AttributeScan,
  list: KeyList,
  accept: (v: AttrValue | undefined) => T | undefined,
): T | undefined {
  let mask = s.present[list.id] ?? 0;
  while (mask !== 0) {
    const low = mask & -mask;
    const v = accept(s.attrs[list.keys[31 - Math.clz32(low)]!]);
    if (v !== undefined) return v;
    mask ^= low;
  }
  return undefined;
}

/** Whether any key of `list` is present. */
export function hasIn(s: AttributeScan, list: KeyList): boolean {
  return (s.present[list.id] ?? 0) !== 0;
}

/** A token count: finite and ≥ 0 (older Semantic Kernel writes -1 for "unknown"). */
export function asCount(v: AttrValue | undefined): number | undefined {
  const n = toNumber(v);
  return n !== undefined && n >= 0 ? n : undefined;
}

export const countIn = (s: AttributeScan, list: KeyList): number | undefined => firstIn(s, list, asCount);
/** The first usable key as text (see `toText`). */
export const textIn = (s: AttributeScan, list: KeyList): string | undefined => firstIn(s, list, toText);
/** The first key holding a JSON object (e.g. `ai.response.providerMetadata`), parsed. */
export const jsonIn = (s: AttributeScan, list: KeyList): Record<string, unknown> | undefined =>
  firstIn(s, list, toJsonObject);
