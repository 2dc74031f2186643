import { readFileSync } from 'node:fs';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { toTransactions } from '../../src/stage/to-transactions.js';
import { PriceBook } from '../../src/pricing/price-book.js';
import { spansFromOtlpJson } from '../../src/span/from-otlp-json.js';
import type { IngestServer } from '../helpers/ingest-server.js';
import { readableSpans, recordedFixtures } from '../sidecar/otlp-replay.js';
import { until } from '../sidecar/spawn-sidecar.js';

/**
 * Valid OTLP traffic for the sidecar fault tests: the recorded real traces, each copy with new
 * trace ids, and the transaction keys (trace id / span id) the converter bills for them.
 */
const fixtures = recordedFixtures();
const pricer = new PriceBook();

export interface Payload {
  /** OTLP/JSON text. */
  json: string;
  /** OTLP/protobuf bytes of the same spans. */
  proto: Uint8Array;
  /** Keys of the transactions it must produce. */
  keys: string[];
  /** The model of each of those transactions, in the order of `keys`. */
  models: string[];
}

/** Copy number `tag` (< 2^32) of every recorded trace, as one request. */
export function payload(tag: number, names?: readonly string[]): Payload {
  const prefix = tag.toString(16).padStart(8, '0');
  const rename = (id: string): string => prefix + id.slice(8);
  const chosen = fixtures.filter((f) => names === undefined || names.includes(f.name));
  const resourceSpans: unknown[] = [];
  for (const f of chosen) {
    const text = JSON.stringify(f.json).replace(
      /"traceId":\s*"([0-9a-f]{32})"/g,
      (_m, id: string) => `"traceId":"${rename(id)}"`,
    );
    resourceSpans.push(...((JSON.parse(text) as { resourceSpans: unknown[] }).resourceSpans ?? []));
  }
  const request = { resourceSpans };
  const transactions = toTransactions(spansFromOtlpJson(request).spans, { pricer }).transactions;
  const keys = transactions.map((t) => `${t.span.traceId}/${t.span.spanId}`);
  const models = transactions.map((t) => t.model);
  const proto = ProtobufTraceSerializer.serializeRequest(readableSpans(request));
  if (proto === undefined) throw new Error('serializer produced nothing');
  return { json: JSON.stringify(request), proto, keys, models };
}

export const keyOf = (a: { transaction: { context: Record<string, unknown> } }): string =>
  `${String(a.transaction.context['trace_id'])}/${String(a.transaction.context['span_id'])}`;

/** Distinct keys the ingest server recorded and the number of extra copies. */
export function recordedKeys(ingest: IngestServer): { distinct: Set<string>; duplicates: number } {
  const distinct = new Set<string>();
  let duplicates = 0;
  for (const a of ingest.accepted) {
    const k = keyOf(a);
    if (distinct.has(k)) duplicates++;
    else distinct.add(k);
  }
  return { distinct, duplicates };
}

/**
 * Waits until every acknowledged key reached the ingest server (`what` names it in a timeout),
 * then counts: acknowledged, delivered (acknowledged and recorded), and the extra copies.
 */
export async function deliveredAll(
  ingest: IngestServer,
  acked: ReadonlySet<string>,
  what: string,
  timeoutMs: number,
): Promise<{ acknowledged: number; delivered: number; counted: 0; duplicates: number }> {
  await until(
    () => {
      const got = recordedKeys(ingest).distinct;
      return [...acked].every((k) => got.has(k));
    },
    what,
    timeoutMs,
  );
  const { distinct, duplicates } = recordedKeys(ingest);
  return {
    acknowledged: acked.size,
    delivered: [...acked].filter((k) => distinct.has(k)).length,
    counted: 0,
    duplicates,
  };
}

export async function post(
  base: string,
  body: Uint8Array | string,
  headers: Record<string, string> = { 'content-type': 'application/x-protobuf' },
): Promise<{ status: number; text: string }> {
  const r = await fetch(`${base}/v1/traces`, { method: 'POST', body, headers });
  return { status: r.status, text: await r.text() };
}

/** Resident set size of a process, MiB (Linux /proc). */
export function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** A counter of a sidecar's /metrics (Prometheus name), 0 when absent. */
export async function metric(base: string, name: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

/** Transactions a sidecar counted as possible duplicates (accepted after an answer was lost). */
export function possibleDuplicates(base: string): Promise<number> {
  return metric(base, 'fenra_otel_transactions_possible_duplicates_total');
}

/**
 * Requests as cheap to make as possible (for overload): `copies` payloads of the recorded traces
 * in one request (protobuf concatenation merges the repeated resource_spans), each new request
 * a copy of the template with new trace ids written in place (a buffer copy and a few writes).
 */
export function templated(copies: number): (n: number) => Payload {
  const base = 0xf0000000;
  const parts = Array.from({ length: copies }, (_, i) => payload(base + i));
  const proto = Buffer.concat(parts.map((p) => Buffer.from(p.proto)));
  // Where each copy's trace ids sit: a trace_id field (tag 0x0a, length 16) starting with its prefix.
  const offsets: number[][] = parts.map((_, i) => {
    const needle = Buffer.alloc(6);
    needle[0] = 0x0a;
    needle[1] = 0x10;
    needle.writeUInt32BE(base + i, 2);
    const at: number[] = [];
    for (let o = proto.indexOf(needle); o >= 0; o = proto.indexOf(needle, o + 1)) at.push(o + 2);
    return at;
  });
  return (n) => {
    const body = Buffer.from(proto);
    const keys: string[] = [];
    const models: string[] = [];
    parts.forEach((p, i) => {
      const prefix = (n * copies + i) >>> 0;
      for (const o of offsets[i]!) body.writeUInt32BE(prefix, o);
      const hex = prefix.toString(16).padStart(8, '0');
      for (const k of p.keys) keys.push(hex + k.slice(8));
      models.push(...p.models);
    });
    return { json: '', proto: body, keys, models };
  };
}
