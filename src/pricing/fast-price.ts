/**
 * A precompiled form of one genai-prices `ModelPrice`, so a call can be priced without
 * re-deriving the unit decomposition every time. It follows the arithmetic of
 * `calcPrice` 0.1.8 step for step (same leaf order, same operations, same summation order),
 * so results are bit-identical; the tests and the bench assert that against `calcPrice`.
 *
 * Whenever `calcPrice` would throw for a usage (impossible leaves, a priced unit missing
 * while a more specific one is reported), `priceWithPlan` returns undefined and the caller
 * asks `calcPrice` itself, which then produces the error.
 */
import type { ModelInfo, ModelPrice } from '@pydantic/genai-prices';
import {
  allUnits,
  compatible,
  covers,
  isAncestor,
  joinUnit,
  unitForPriceKey,
  unitForUsageKey,
} from './units.js';
import type { UnitDef } from './units.js';

/** genai-prices usage: its usage keys → counts. */
export type CatalogUsage = Record<string, number>;

interface Tiered {
  base: number;
  tiers: { start: number; price: number }[];
}

interface PlanEntry {
  usageKey: string;
  per: number;
  /** 0 input, 1 output, 2 other. */
  dir: 0 | 1 | 2;
  flat: number | undefined;
  tiered: Tiered | undefined;
  /** Where the entry's count comes from: a leaf index, REQUEST_COUNT (1) or NO_COUNT (0). */
  source: number;
}

const REQUEST_COUNT = -1;
const NO_COUNT = -2;

interface Leaf {
  unit: UnitDef;
  /** Indexes (into `leaves`) of the more specific units whose leaves are subtracted, in order. */
  minus: number[];
  /** Usage keys of reported strict descendants (any positive one makes calcPrice throw if this key is absent). */
  descendants: string[];
  /** Pairs of reported usage keys whose join is this unit (both positive → calcPrice throws if absent). */
  joins: [string, string][];
}

export interface PricePlan {
  entries: PlanEntry[];
  leaves: Leaf[];
  hasTiered: boolean;
  hasRequests: boolean;
}

export interface PlanPrice {
  input_price: number;
  output_price: number;
  total_price: number;
}

/**
 * Usage keys a plan checks for the "missing ancestor" errors. Only keys that
 * `toCatalogUsage` can emit; a usage with other keys must go through `calcPrice`.
 */
export const PLAN_USAGE_KEYS: readonly string[] = [
  'input_tokens',
  'cache_read_tokens',
  'cache_write_tokens',
  'cache_write_1h_tokens',
  'input_audio_tokens',
  'input_image_tokens',
  'input_video_tokens',
  'output_tokens',
  'output_reasoning_tokens',
  'output_audio_tokens',
  'output_image_tokens',
];
const PLAN_KEY_SET: ReadonlySet<string> = new Set(PLAN_USAGE_KEYS);

/** Whether every key of the usage is one the plan accounts for. */
export function planCovers(usage: CatalogUsage): boolean {
  for (const k in usage) if (!PLAN_KEY_SET.has(k)) return false;
  return true;
}

function isFiniteNonNeg(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0;
}

function toTiered(value: unknown): Tiered | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const v = value as { base?: unknown; tiers?: unknown };
  if (!isFiniteNonNeg(v.base) || !Array.isArray(v.tiers)) return undefined;
  const tiers: { start: number; price: number }[] = [];
  for (const t of v.tiers as unknown[]) {
    if (typeof t !== 'object' || t === null) return undefined;
    const { start, price } = t as { start?: unknown; price?: unknown };
    if (typeof start !== 'number' || !Number.isSafeInteger(start) || start < 0 || !isFiniteNonNeg(price)) {
      return undefined;
    }
    tiers.push({ start, price });
  }
  tiers.sort((a, b) => a.start - b.start);
  return { base: v.base, tiers };
}

/**
 * Compile a model price, or undefined when it has anything the fast path does not model
 * (unknown price keys, malformed prices, a price set calcPrice rejects): such models are
 * always priced through `calcPrice`.
 */
export function buildPlan(price: ModelPrice): PricePlan | undefined {
  const entries: PlanEntry[] = [];
  const units: UnitDef[] = [];
  for (const [priceKey, value] of Object.entries(price)) {
    if (value === undefined) continue;
    const unit = unitForPriceKey(priceKey);
    if (unit === undefined) return undefined;
    let flat: number | undefined;
    let tiered: Tiered | undefined;
    if (isFiniteNonNeg(value)) flat = value;
    else {
      tiered = toTiered(value);
      if (tiered === undefined) return undefined;
    }
    const dir = unit.direction === 'input' ? 0 : unit.direction === 'output' ? 1 : 2;
    entries.push({ usageKey: unit.usageKey, per: unit.per, dir, flat, tiered, source: NO_COUNT });
    units.push(unit);
  }
  // calcPrice's validation: every ancestor and every join of priced units must be priced.
  const priced = new Set(units.map((x) => x.priceKey));
  for (const unit of units) {
    for (const other of allUnits()) {
      if (isAncestor(other, unit) && !priced.has(other.priceKey)) return undefined;
    }
  }
  for (let i = 0; i < units.length; i++) {
    for (let j = i + 1; j < units.length; j++) {
      const a = units[i] as UnitDef;
      const b = units[j] as UnitDef;
      if (!compatible(a, b)) continue;
      const join = joinUnit(a, b);
      if (join === undefined || !priced.has(join.priceKey)) return undefined;
    }
  }

  const leafUnits = [...new Set(units.filter((x) => x.usageKey !== 'requests'))].sort(
    (a, b) => b.dimCount - a.dimCount || a.usageKey.localeCompare(b.usageKey),
  );
  const reported = PLAN_USAGE_KEYS.map((k) => unitForUsageKey(k)).filter(
    (x): x is UnitDef => x !== undefined,
  );
  const leaves: Leaf[] = leafUnits.map((unit) => {
    const minus: number[] = [];
    leafUnits.forEach((p, idx) => {
      if (p !== unit && covers(unit, p)) minus.push(idx);
    });
    const descendants = reported.filter((r) => isAncestor(unit, r)).map((r) => r.usageKey);
    const joins: [string, string][] = [];
    for (let i = 0; i < reported.length; i++) {
      for (let j = i + 1; j < reported.length; j++) {
        const a = reported[i] as UnitDef;
        const b = reported[j] as UnitDef;
        if (!compatible(a, b) || isAncestor(a, b) || isAncestor(b, a)) continue;
        if (joinUnit(a, b) === unit) joins.push([a.usageKey, b.usageKey]);
      }
    }
    return { unit, minus, descendants, joins };
  });
  const hasRequests = units.some((x) => x.usageKey === 'requests');
  // Each entry's count: the (last) leaf of its usage key; `requests` is 1 when priced.
  for (const e of entries) {
    if (hasRequests && e.usageKey === 'requests') e.source = REQUEST_COUNT;
    else {
      for (let i = 0; i < leaves.length; i++) if (leaves[i]!.unit.usageKey === e.usageKey) e.source = i;
    }
  }
  return {
    entries,
    leaves,
    hasTiered: entries.some((e) => e.tiered !== undefined),
    hasRequests,
  };
}

/**
 * Price a usage (only `PLAN_USAGE_KEYS`, values finite and ≥ 0) with a plan. Undefined when
 * calcPrice would throw for it.
 */
export function priceWithPlan(plan: PricePlan, usage: CatalogUsage): PlanPrice | undefined {
  const leaves = plan.leaves;
  const n = leaves.length;
  const values = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const leaf = leaves[i] as Leaf;
    const key = leaf.unit.usageKey;
    let s = usage[key];
    if (s === undefined) {
      for (const d of leaf.descendants) if ((usage[d] ?? 0) > 0) return undefined;
      for (const [a, b] of leaf.joins) if ((usage[a] ?? 0) > 0 && (usage[b] ?? 0) > 0) return undefined;
      s = 0;
    }
    let m = 0;
    for (const idx of leaf.minus) m += values[idx] as number;
    let r = s - m;
    const eps = Number.EPSILON * Math.max(1, Math.abs(s), Math.abs(m)) * (n + 1);
    if (r < 0 && Math.abs(r) <= eps) r = 0;
    if (r < 0) return undefined;
    values[i] = r;
  }

  // Tier thresholds compare against total input tokens (a whole-request cliff).
  const tierBasis = plan.hasTiered ? (usage.input_tokens ?? 0) : 0;
  let inp = 0;
  let out = 0;
  let other = 0;
  for (const e of plan.entries) {
    const count = e.source >= 0 ? (values[e.source] as number) : e.source === REQUEST_COUNT ? 1 : 0;
    let cost: number;
    if (e.flat !== undefined) cost = (e.flat * count) / e.per;
    else {
      const t = e.tiered as Tiered;
      let perM = 0;
      if (count > 0) {
        let rate = t.base;
        for (const tier of t.tiers) if (tierBasis > tier.start) rate = tier.price;
        perM = (rate * count) / 1e6;
      }
      cost = (perM * 1e6) / e.per;
    }
    if (e.dir === 0) inp += cost;
    else if (e.dir === 1) out += cost;
    else other += cost;
  }
  return { input_price: inp, output_price: out, total_price: inp + out + other };
}

interface CompiledConstraint {
  kind: 'none' | 'start' | 'tod' | 'bad';
  startMs: number;
  startSec: number;
  endSec: number;
  prices: ModelPrice;
}

/** Time-dependent price selection, compiled once per model. */
export interface PriceSchedule {
  fixed: ModelPrice | undefined;
  variants: CompiledConstraint[];
  first: ModelPrice | undefined;
}

function parseTimeOfDay(text: string): number | undefined {
  const m = /^(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|([+-])(\d{2}):(\d{2}))$/.exec(text);
  if (!m) return undefined;
  const [, hh, mi, ss, frac = '', zone, sign, oh = '00', om = '00'] = m;
  const h = Number(hh);
  const min = Number(mi);
  const sec = Number(ss);
  if (h > 23 || min > 59 || sec > 59 || oh > '23' || om > '59') return undefined;
  const offset = (Number(oh) * 60 + Number(om)) * 60;
  const local = h * 3600 + min * 60 + sec + Number(`0.${frac}`);
  const shift = zone === 'Z' ? 0 : sign === '+' ? offset : -offset;
  return (local - shift + 86400) % 86400;
}

export function compileSchedule(model: ModelInfo): PriceSchedule {
  if (!Array.isArray(model.prices)) return { fixed: model.prices, variants: [], first: undefined };
  const variants: CompiledConstraint[] = model.prices.map((cp) => {
    const c = cp.constraint as
      { type?: string; start_date?: string; start_time?: string; end_time?: string } | undefined;
    const base = { startMs: 0, startSec: 0, endSec: 0, prices: cp.prices };
    if (c === undefined) return { ...base, kind: 'none' };
    if (c.type === 'start_date')
      return { ...base, kind: 'start', startMs: new Date(c.start_date as string).getTime() };
    if (c.type === 'time_of_date') {
      const a = parseTimeOfDay(c.start_time as string);
      const b = parseTimeOfDay(c.end_time as string);
      if (a === undefined || b === undefined) return { ...base, kind: 'bad' };
      return { ...base, kind: 'tod', startSec: a, endSec: b };
    }
    return { ...base, kind: 'bad' };
  });
  return { fixed: undefined, variants, first: model.prices[0]?.prices };
}

/** The model price in force at `timestampMs`, or undefined when calcPrice would throw. */
export function selectPrice(schedule: PriceSchedule, timestampMs: number): ModelPrice | undefined {
  if (schedule.fixed !== undefined) return schedule.fixed;
  if (!Number.isFinite(timestampMs)) return undefined;
  const v = schedule.variants;
  for (let i = v.length - 1; i >= 0; i--) {
    const c = v[i] as CompiledConstraint;
    if (c.kind === 'none') return c.prices;
    if (c.kind === 'start') {
      if (timestampMs >= c.startMs) return c.prices;
    } else if (c.kind === 'tod') {
      const dayMs = ((timestampMs % 86400000) + 86400000) % 86400000;
      const t = Math.floor(dayMs / 1000) + (dayMs % 1000) / 1e3;
      if (c.endSec < c.startSec) {
        if (t >= c.startSec || t < c.endSec) return c.prices;
      } else if (t >= c.startSec && t < c.endSec) return c.prices;
    } else return undefined;
  }
  return schedule.first;
}
