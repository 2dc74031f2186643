import { isoTime } from '../internal/iso-time.js';
import { renderTransaction } from '../fenra/render-transaction.js';
import type { FenraTransaction } from '../fenra/transaction-schema.js';
import { fenraTransactionSchema } from '../fenra/transaction-schema.js';
import type { PricedTransaction } from '../stage/priced-transaction.js';
import type { PriceResult } from '../pricing/types.js';

/**
 * One line of the local sink (`transactions.jsonl`). It is a superset of one line of
 * `fenra-otel convert` output (`transaction`, `price`, `span`), so `report` reads both.
 */
export interface LocalRecord {
  transaction: FenraTransaction;
  /** Null for a record written without a local price (a plain `TransactionSender`). */
  price: PriceResult | null;
  span?: { trace_id: string; span_id: string; name: string };
  /** Span end (the provider call), ISO 8601. */
  time?: string;
  /** When the sink wrote it, ISO 8601. */
  recorded_at?: string;
}

/** The records of transactions settled together: the time they were recorded is formatted once. */
export function toLocalRecords(items: readonly PricedTransaction[], recordedAtMs: number): LocalRecord[] {
  const recordedAt = new Date(recordedAtMs).toISOString();
  const out = new Array<LocalRecord>(items.length);
  for (let i = 0; i < items.length; i++) out[i] = record(items[i]!, recordedAt);
  return out;
}

function record(t: PricedTransaction, recordedAt: string): LocalRecord {
  return {
    transaction: renderTransaction(t),
    price: t.price,
    span: { trace_id: t.span.traceId, span_id: t.span.spanId, name: t.span.name },
    time: isoOrUndefined(t.endTimeMs),
    recorded_at: recordedAt,
  };
}

/** The latest time a Date holds (ECMAScript: 8.64e15 ms after the epoch). */
const MAX_DATE_MS = 8.64e15;

export function isoOrUndefined(ms: number): string | undefined {
  return Number.isFinite(ms) && ms > 0 && ms <= MAX_DATE_MS ? isoTime(ms) : undefined;
}

/** Epoch ms of a record: the call's time, else when it was recorded; undefined when neither. */
export function recordTimeMs(r: LocalRecord): number | undefined {
  const time = typeof r.time === 'string' ? Date.parse(r.time) : NaN;
  if (Number.isFinite(time)) return time;
  const recorded = typeof r.recorded_at === 'string' ? Date.parse(r.recorded_at) : NaN;
  return Number.isFinite(recorded) ? recorded : undefined;
}

/** Why a transaction may not be written: the wire schema's first complaint, or undefined when valid. */
export function schemaProblem(t: unknown): string | undefined {
  const r = fenraTransactionSchema().safeParse(t);
  if (r.success) return undefined;
  const issue = r.error.issues[0];
  return issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid transaction';
}

export interface ParsedRecords {
  records: LocalRecord[];
  /** Lines that were not records, with their 1-based line number. */
  problems: string[];
}

/**
 * Parses JSON Lines of local-sink records or `convert` output. A torn last line (a crash
 * mid-write) and lines that fail the wire schema are reported, not fatal.
 */
export function parseRecordLines(text: string): ParsedRecords {
  const records: LocalRecord[] = [];
  const problems: string[] = [];
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      problems.push(`line ${i + 1}: not JSON${i === lines.length - 1 ? ' (torn last line?)' : ''}`);
      return;
    }
    if (value === null || typeof value !== 'object' || !('transaction' in value)) {
      problems.push(`line ${i + 1}: no "transaction" field`);
      return;
    }
    const v = value as Record<string, unknown>;
    const problem = schemaProblem(v['transaction']);
    if (problem !== undefined) {
      problems.push(`line ${i + 1}: ${problem}`);
      return;
    }
    records.push({
      transaction: v['transaction'] as FenraTransaction,
      price: isPrice(v['price']) ? v['price'] : null,
      ...(isSpan(v['span']) ? { span: v['span'] } : {}),
      ...(typeof v['time'] === 'string' ? { time: v['time'] } : {}),
      ...(typeof v['recorded_at'] === 'string' ? { recorded_at: v['recorded_at'] } : {}),
    });
  });
  return { records, problems };
}

function isPrice(v: unknown): v is PriceResult {
  if (v === null || typeof v !== 'object') return false;
  const usd = (v as { usd?: unknown }).usd;
  return (usd === null || (typeof usd === 'number' && Number.isFinite(usd))) && 'source' in v;
}

function isSpan(v: unknown): v is NonNullable<LocalRecord['span']> {
  if (v === null || typeof v !== 'object') return false;
  const s = v as Record<string, unknown>;
  return typeof s['trace_id'] === 'string' && typeof s['span_id'] === 'string';
}
