import type { AttributeRule } from '../span/attribute-filter.js';
import { toJsonObject, toNumber, toText } from '../span/attributes.js';
import type { AttrValue, Attributes } from '../span/span-view.js';
import { MAX_REPORTED_COST_USD } from './limits.js';

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
/** Keys whose values hold more than billing reads (JSON with content beside the numbers): how to reduce them. */
const RULES = new Map<string, AttributeRule>();
let lists = 0;

/**
 * Registers a key list (at module load: the set of lists is fixed). `reduce`, for keys whose
 * values hold content beside what is read (a JSON object with the usage numbers and the
 * request), says what an attribute filter keeps of them: the reader must give the same answer
 * on the reduced value as on the whole one.
 */
export function keyList(keys: readonly string[], reduce?: AttributeRule): KeyList {
  if (keys.length > 32) throw new Error(`a key list holds at most 32 keys (${keys[0]}…)`);
  const id = lists++;
  keys.forEach((key, rank) => {
    let at = INDEX.get(key);
    if (at === undefined) INDEX.set(key, (at = []));
    at.push((id << 5) | rank);
    if (reduce !== undefined) {
      const before = RULES.get(key);
      if (before !== undefined && before !== reduce) throw new Error(`two reductions for ${key}`);
      RULES.set(key, reduce);
    }
  });
  return { id, keys };
}

/** Whether `key` is read by the converter through some key list. */
export function isIndexedKey(key: string): boolean {
  return INDEX.has(key);
}

/** How an attribute filter reduces `key` (registered with its key list), if it must. */
export function reductionOf(key: string): AttributeRule | undefined {
  return RULES.get(key);
}

/** The attributes of one span, and which entries of each key list they hold (see {@link maskOf}). */
export interface AttributeScan {
  readonly attrs: Attributes;
  /** The scan's generation among the shared masks. */
  generation: number;
  /** The first count read that is not a token count (`key is "12abc"`), set by {@link countIn}. */
  unreadable: string | undefined;
}

/**
 * The masks of the latest scan, shared by every scan (a span's scan is read while its span is
 * detected, before the next one): per list, bit r set when `keys[r]` is present, valid where the
 * list's stamp is the scan's generation. Nothing is allocated or cleared per scan; a list the
 * span does not touch keeps an older stamp and reads as empty.
 */
let masks = new Int32Array(0);
let stamps = new Int32Array(0);
let generation = 0;

export function scanAttributes(attrs: Attributes): AttributeScan {
  const scan: AttributeScan = { attrs, generation: 0, unreadable: undefined };
  fill(scan);
  return scan;
}

function fill(scan: AttributeScan): void {
  if (masks.length < lists) {
    masks = new Int32Array(lists);
    stamps = new Int32Array(lists);
  }
  if (generation === 0x7fffffff) {
    stamps.fill(0);
    generation = 0;
  }
  const gen = ++generation;
  scan.generation = gen;
  const attrs = scan.attrs;
  for (const key in attrs) {
    const at = INDEX.get(key);
    if (at === undefined || attrs[key] === undefined) continue;
    for (let i = 0; i < at.length; i++) {
      const e = at[i]!;
      const id = e >>> 5;
      const bit = 1 << (e & 31);
      if (stamps[id] !== gen) {
        stamps[id] = gen;
        masks[id] = bit;
      } else masks[id] = masks[id]! | bit;
    }
  }
}

/**
 * Per list: bit r set when `keys[r]` is present (not undefined). A scan read after a later one
 * (not the case in the converter, but never a wrong answer) scans its attributes again.
 */
export function maskOf(s: AttributeScan, list: KeyList): number {
  if (s.generation !== generation) fill(s);
  return stamps[list.id] === generation ? masks[list.id]! : 0;
}

/** The first present key of `list` (in order) whose value `accept` turns into a value. */
export function firstIn<T>(
  s: AttributeScan,
  list: KeyList,
  accept: (v: AttrValue | undefined) => T | undefined,
): T | undefined {
  let mask = maskOf(s, list);
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
  return maskOf(s, list) !== 0;
}

/**
 * A token count as a span states it: undefined when not stated (absent, null, an empty string,
 * or -1, which older Semantic Kernel writes for "unknown"); a whole number 0 ≤ n < 2^53 (a
 * number, or decimal digits as OTLP/JSON writes int64); NaN for anything else (a fraction, a
 * negative, ±Infinity, NaN, "12abc", "1e400", a number past 2^53, a boolean, an object): the
 * call is then not billable (`invalid_usage`), never billed as 0 nor as a huge number.
 */
export function parseCount(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? v : v === -1 ? undefined : NaN;
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') {
    const t = v.trim();
    if (t === '' || t === '-1') return undefined;
    if (t.length > 16 || !/^\d+$/.test(t)) return NaN;
    const n = Number(t);
    return Number.isSafeInteger(n) ? n : NaN;
  }
  return NaN;
}

/** A cost in USD: finite, ≥ 0 and below {@link MAX_REPORTED_COST_USD}; otherwise not carried. */
export function asAmount(v: AttrValue | undefined): number | undefined {
  const n = toNumber(v);
  return n !== undefined && n >= 0 && n < MAX_REPORTED_COST_USD ? n : undefined;
}

/** A value as a reason may show it: short, quoted. */
export function shownValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 24 ? `${v.slice(0, 24)}…` : v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  return Array.isArray(v) ? 'an array' : v instanceof Uint8Array ? 'bytes' : `a ${typeof v}`;
}

/**
 * The first present key of `list` stating a count (see {@link parseCount}); NaN when that
 * statement is not a token count, noted in the scan (`unreadable`) with the key.
 */
export function countIn(s: AttributeScan, list: KeyList): number | undefined {
  let mask = maskOf(s, list);
  while (mask !== 0) {
    const low = mask & -mask;
    const key = list.keys[31 - Math.clz32(low)]!;
    const raw = s.attrs[key];
    const n = parseCount(raw);
    if (n !== undefined) {
      if (Number.isNaN(n)) s.unreadable ??= `${key} is ${shownValue(raw)}, not a token count`;
      return n;
    }
    mask ^= low;
  }
  return undefined;
}
/** The first usable key as text (see `toText`). */
export const textIn = (s: AttributeScan, list: KeyList): string | undefined => firstIn(s, list, toText);
/** The first key holding a JSON object (e.g. `ai.response.providerMetadata`), parsed. */
export const jsonIn = (s: AttributeScan, list: KeyList): Record<string, unknown> | undefined =>
  firstIn(s, list, toJsonObject);
