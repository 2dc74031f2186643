import { CALL_CONTEXT } from '../fenra/call-context.js';
import { STYLE_BY_PROVIDER, TOKEN_METRICS, tokenMetrics } from '../fenra/metric-names.js';
import { UNATTRIBUTED } from '../genai/context.js';
import type { FenraTransaction } from '../fenra/transaction-schema.js';
import type { PricedTransaction } from '../stage/priced-transaction.js';
import type { LocalRecord } from './records.js';
import { isoOrUndefined, recordTimeMs } from './records.js';

/**
 * Running totals over local records: per customer, model, feature and provider, the unpriced
 * reasons, the recent rows for a table and the (time, USD) points for a chart. Adding a record
 * is O(1); memory is bounded (`maxRecent` rows, `maxPoints` points, `maxKeys` per dimension).
 */
export type Dimension = 'customer' | 'model' | 'feature' | 'provider';
export const DIMENSIONS: readonly Dimension[] = ['customer', 'model', 'feature', 'provider'];

export interface Totals {
  transactions: number;
  /** Sum of the priced transactions' estimated USD. */
  usd: number;
  unpriced: number;
  inputTokens: number;
  outputTokens: number;
}

export interface Row {
  time: string | undefined;
  customer: string;
  provider: string;
  model: string;
  feature: string | undefined;
  /** All input, cache reads and writes included. */
  inputTokens: number;
  /** Of the input: read from the provider's cache (billed at a lower rate). */
  cacheReadTokens: number;
  /** Of the input: written to the provider's cache (billed at a higher rate). */
  cacheWriteTokens: number;
  /** All output, reasoning included. */
  outputTokens: number;
  /** Of the output: reasoning. */
  reasoningTokens: number;
  usd: number | null;
  priceSource: string;
  unpricedReason: string | undefined;
  cacheSplitMissing: boolean;
  reasoningMissing: boolean;
}

export interface LedgerSnapshot {
  totals: Totals;
  unattributed: number;
  /** Transactions whose instrumentation is known to drop the cache split (cached input billed in full). */
  cacheSplitMissing: number;
  /** Transactions whose instrumentation leaves reasoning out of the output it reports (billed without it). */
  reasoningMissing: number;
  unpricedReasons: Record<string, number>;
  /** Per dimension, sorted by USD then count, descending. */
  by: Record<Dimension, { key: string; totals: Totals }[]>;
  /** Newest first. */
  recent: Row[];
  /** Chart points, oldest first: epoch ms and USD (0 for unpriced). */
  points: [number, number][];
}

/** Key used for records with no value in a dimension (e.g. no `feature`). */
export const NONE = '(none)';
const OTHER = '(other)';

const zero = (): Totals => ({ transactions: 0, usd: 0, unpriced: 0, inputTokens: 0, outputTokens: 0 });

/** USD for display and JSON: 12 significant digits, so sums of floats show no noise (0.00104, not 0.0010400000000000001). */
export function roundUsd(v: number): number {
  return Number.isFinite(v) ? Number(v.toPrecision(12)) : v;
}

/** The token metrics of a record (its `tokens` usage entry), or none. */
function tokenMetricsOf(r: LocalRecord): Readonly<Record<string, unknown>> {
  for (const u of r.transaction.usage) if (u.type === 'tokens') return u.metrics;
  return NO_METRICS;
}
const NO_METRICS: Readonly<Record<string, unknown>> = Object.freeze({});

/** A context flag the transaction states (`cache_split_missing`, `reasoning_missing`). */
function ctxFlag(r: LocalRecord, key: string): boolean {
  return (r.transaction.context as Record<string, unknown>)[key] === true;
}

function ctxString(r: LocalRecord, key: string): string | undefined {
  const v = (r.transaction.context as Record<string, unknown>)[key];
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;
}

const count = (metrics: Readonly<Record<string, unknown>>, name: string): number => {
  const v = metrics[name];
  return typeof v === 'number' ? v : 0;
};

/**
 * A row from its parts, the token counts in one convention whatever the provider's metric
 * style: input with its cache reads and writes, output with its reasoning (see
 * src/fenra/metric-names.ts).
 */
function row(
  time: string | undefined,
  customer: string,
  provider: FenraTransaction['provider'],
  model: string,
  feature: string | undefined,
  metrics: Readonly<Record<string, unknown>>,
  p: LocalRecord['price'],
  cacheSplitMissing: boolean,
  reasoningMissing: boolean,
): Row {
  const anthropic = STYLE_BY_PROVIDER[provider] === 'anthropic';
  const cacheRead = count(metrics, anthropic ? TOKEN_METRICS.cacheRead : TOKEN_METRICS.cached);
  const cacheWrite = count(metrics, TOKEN_METRICS.cacheWrite);
  const input = count(metrics, TOKEN_METRICS.input);
  return {
    time,
    customer,
    provider,
    model,
    feature,
    // Anthropic-style input excludes the cache; OpenAI-style input includes it.
    inputTokens: anthropic ? input + cacheRead + cacheWrite : input,
    cacheReadTokens: cacheRead,
    cacheWriteTokens: cacheWrite,
    outputTokens: count(metrics, TOKEN_METRICS.output),
    reasoningTokens: count(metrics, TOKEN_METRICS.reasoning),
    usd: p?.usd === null || p?.usd === undefined ? null : roundUsd(p.usd),
    priceSource: p?.source ?? 'none',
    unpricedReason: p === null ? 'not_priced_locally' : p.usd === null ? (p.reason ?? 'unknown') : undefined,
    cacheSplitMissing,
    reasoningMissing,
  };
}

export function toRow(r: LocalRecord): Row {
  return row(
    r.time ?? r.recorded_at,
    r.transaction.context.billable_customer_id,
    r.transaction.provider,
    r.transaction.model,
    ctxString(r, 'feature'),
    tokenMetricsOf(r),
    r.price,
    ctxFlag(r, CALL_CONTEXT.cacheSplitMissing),
    ctxFlag(r, CALL_CONTEXT.reasoningMissing),
  );
}

/**
 * The row of a priced transaction: the very row of its record (`toLocalRecords`, then
 * {@link toRow}), without making the record (no wire rendering, no times written and parsed back).
 */
export function rowOfPriced(t: PricedTransaction, recordedAt: string): Row {
  const feature = t.context['feature'];
  return row(
    isoOrUndefined(t.endTimeMs) ?? recordedAt,
    t.context.billable_customer_id,
    t.provider,
    t.model,
    feature === undefined ? undefined : String(feature),
    tokenMetrics(t.provider, t.usage),
    t.price,
    t.usage.cacheSplitMissing === true,
    t.usage.reasoningMissing === true,
  );
}

export interface LedgerOptions {
  maxRecent?: number;
  maxPoints?: number;
  maxKeys?: number;
}

/**
 * The most recent `max` chart points, in insertion order, in two typed arrays that grow by
 * doubling up to `max` and then turn as a ring. An array per point was four objects per
 * transaction that every scavenge of a busy sidecar copied and promoted (3 % of what survived
 * them), for a chart nobody may open.
 */
class Points {
  private readonly _max: number;
  private _t = new Float64Array(0);
  private _usd = new Float64Array(0);
  /** Index of the oldest point (moves once the ring is full). */
  private _start = 0;
  private _size = 0;

  constructor(max: number) {
    this._max = Math.max(0, Math.floor(max));
  }

  push(t: number, usd: number): void {
    if (this._max === 0) return;
    let cap = this._t.length;
    if (this._size === cap && cap < this._max) {
      // Not turned yet (it turns only when full at `max`): the points are 0 .. size-1.
      cap = Math.min(this._max, Math.max(1024, cap * 2));
      const t2 = new Float64Array(cap);
      const usd2 = new Float64Array(cap);
      t2.set(this._t);
      usd2.set(this._usd);
      this._t = t2;
      this._usd = usd2;
    }
    if (this._size < cap) {
      this._t[this._size] = t;
      this._usd[this._size] = usd;
      this._size++;
    } else {
      this._t[this._start] = t;
      this._usd[this._start] = usd;
      this._start = this._start + 1 === cap ? 0 : this._start + 1;
    }
  }

  /** The points, oldest first by time. */
  sorted(): [number, number][] {
    const out: [number, number][] = new Array<[number, number]>(this._size);
    const cap = this._t.length;
    for (let k = 0; k < this._size; k++) {
      const i = (this._start + k) % cap;
      out[k] = [this._t[i]!, this._usd[i]!];
    }
    return out.sort((a, b) => a[0] - b[0]);
  }
}

/** A row's key in a dimension. */
function keyIn(row: Row, d: Dimension): string {
  switch (d) {
    case 'customer':
      return row.customer;
    case 'model':
      return row.model;
    case 'feature':
      return row.feature ?? NONE;
    case 'provider':
      return row.provider;
  }
}

export class Ledger {
  private readonly _maxRecent: number;
  private readonly _maxKeys: number;
  private readonly _totals = zero();
  private _unattributed = 0;
  private _cacheSplitMissing = 0;
  private _reasoningMissing = 0;
  private readonly _reasons = new Map<string, number>();
  private readonly _by = new Map<Dimension, Map<string, Totals>>(DIMENSIONS.map((d) => [d, new Map()]));
  private _recent: Row[] = [];
  private readonly _points: Points;

  constructor(options: LedgerOptions = {}) {
    this._maxRecent = options.maxRecent ?? 200;
    this._points = new Points(options.maxPoints ?? 200_000);
    this._maxKeys = options.maxKeys ?? 1_000;
  }

  get count(): number {
    return this._totals.transactions;
  }

  add(r: LocalRecord): void {
    this._add(toRow(r), recordTimeMs(r));
  }

  /**
   * Adds transactions settled together as {@link add} adds their records (`toLocalRecords`):
   * the same rows and times, without making the records.
   */
  addPriced(items: readonly PricedTransaction[], recordedAtMs: number): void {
    const recordedAt = new Date(recordedAtMs).toISOString();
    const recordedMs = Date.parse(recordedAt);
    for (const t of items) {
      const r = rowOfPriced(t, recordedAt);
      // The time recordTimeMs reads back from the record: the call's end, else when recorded.
      this._add(r, r.time === recordedAt ? recordedMs : Math.trunc(t.endTimeMs));
    }
  }

  private _add(row: Row, t: number | undefined): void {
    this._bump(this._totals, row);
    if (row.customer === UNATTRIBUTED) this._unattributed++;
    if (row.cacheSplitMissing) this._cacheSplitMissing++;
    if (row.reasoningMissing) this._reasoningMissing++;
    if (row.unpricedReason !== undefined)
      this._reasons.set(row.unpricedReason, (this._reasons.get(row.unpricedReason) ?? 0) + 1);
    for (const d of DIMENSIONS) {
      const m = this._by.get(d)!;
      let key = keyIn(row, d);
      if (!m.has(key) && m.size >= this._maxKeys) key = OTHER;
      let t = m.get(key);
      if (!t) m.set(key, (t = zero()));
      this._bump(t, row);
    }
    this._recent.push(row);
    if (this._recent.length > this._maxRecent * 2) this._recent = this._recent.slice(-this._maxRecent);
    if (t !== undefined) this._points.push(t, row.usd ?? 0);
  }

  addAll(records: Iterable<LocalRecord>): this {
    for (const r of records) this.add(r);
    return this;
  }

  snapshot(): LedgerSnapshot {
    const by = {} as LedgerSnapshot['by'];
    for (const d of DIMENSIONS) {
      by[d] = [...this._by.get(d)!]
        .map(([key, totals]) => ({ key, totals: { ...totals, usd: roundUsd(totals.usd) } }))
        .sort((a, b) => b.totals.usd - a.totals.usd || b.totals.transactions - a.totals.transactions);
    }
    const points = this._points.sorted();
    return {
      totals: { ...this._totals, usd: roundUsd(this._totals.usd) },
      unattributed: this._unattributed,
      cacheSplitMissing: this._cacheSplitMissing,
      reasoningMissing: this._reasoningMissing,
      unpricedReasons: Object.fromEntries(this._reasons),
      by,
      recent: this._recent.slice(-this._maxRecent).reverse(),
      points,
    };
  }

  private _bump(t: Totals, row: Row): void {
    t.transactions++;
    if (row.usd === null) t.unpriced++;
    else t.usd += row.usd;
    t.inputTokens += row.inputTokens;
    t.outputTokens += row.outputTokens;
  }
}
