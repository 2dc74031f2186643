import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PricedTransaction } from '../../src/stage/priced-transaction.js';
import { Ledger } from '../../src/local/ledger.js';
import { parseRecordLines } from '../../src/local/records.js';
import { LocalSink, LocalSinkSender } from '../../src/local/sink.js';
import { resolveLibraryConfig } from '../../src/config/library.js';
import { DeliveryPipeline } from '../../src/pipeline/delivery-pipeline.js';
import type { Settlement } from '../../src/pipeline/settlement-ledger.js';
import { makePriced, spanIds } from '../helpers/priced.js';
import { recordingSleep } from '../helpers/recording-sleep.js';
import { renderTransaction } from '../../src/fenra/render-transaction.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fenra-sink-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function invalid(): PricedTransaction {
  const t = makePriced();
  // An empty model id: the wire schema refuses it (the converter never builds one).
  return { ...t, model: '' };
}

describe('LocalSink', () => {
  it('appends valid transactions as JSON Lines that parse back to the same records', async () => {
    const sink = new LocalSink({ dir: join(dir, 'data') });
    const a = [makePriced({ customer: 'acme', usd: 0.5 }), makePriced({ customer: 'globex', usd: null })];
    const r = await sink.append(a, Date.UTC(2026, 0, 1));
    expect(r).toEqual({ written: 2, bytes: Buffer.byteLength(readFileSync(sink.file)), invalid: [] });
    const text = readFileSync(sink.file, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    const parsed = parseRecordLines(text);
    expect(parsed.problems).toEqual([]);
    expect(parsed.records.map((x) => x.transaction)).toEqual(a.map((x) => renderTransaction(x)));
    expect(parsed.records[0]!.price).toEqual(a[0]!.price);
    expect(parsed.records[0]!.time).toBe(new Date(a[0]!.endTimeMs).toISOString());
    expect(parsed.records[0]!.recorded_at).toBe('2026-01-01T00:00:00.000Z');
    expect(parsed.records[1]!.span).toEqual({
      trace_id: a[1]!.span.traceId,
      span_id: a[1]!.span.spanId,
      name: a[1]!.span.name,
    });
  });

  it('refuses what the wire schema refuses, and writes the rest', async () => {
    const sink = new LocalSink({ dir });
    const good = makePriced();
    const r = await sink.append([invalid(), good]);
    expect(r.written).toBe(1);
    expect(r.invalid).toHaveLength(1);
    expect(r.invalid[0]!.index).toBe(0);
    expect(r.invalid[0]!.problem).toMatch(/model/);
    expect(spanIds(parseRecordLines(readFileSync(sink.file, 'utf8')).records)).toEqual(spanIds([good]));
  });

  it('loads earlier runs into its ledger and skips a torn last line', async () => {
    const first = new LocalSink({ dir });
    await first.append([makePriced({ usd: 0.25 }), makePriced({ usd: 0.5 })]);
    appendFileSync(first.file, '{"transaction": {"provider":"op');
    const second = new LocalSink({ dir });
    await second.open();
    expect(second.ledger.count).toBe(2);
    expect(second.ledger.snapshot().totals.usd).toBeCloseTo(0.75, 12);
    expect(second.loadProblems).toEqual(['line 3: not JSON (torn last line?)']);
  });

  it('keeps appends in call order when they overlap', async () => {
    const sink = new LocalSink({ dir, fsync: false });
    const batches = Array.from({ length: 20 }, () => [makePriced(), makePriced()]);
    await Promise.all(batches.map((b) => sink.append(b)));
    const written = spanIds(parseRecordLines(readFileSync(sink.file, 'utf8')).records);
    expect(written).toEqual(spanIds(batches.flat()));
  });

  it('tells listeners about each record once it is written', async () => {
    const sink = new LocalSink({ dir });
    const seen: string[] = [];
    sink.onRecord((r) => seen.push(String(r.transaction.context.span_id)));
    const a = [makePriced(), makePriced()];
    await sink.append(a);
    expect(seen).toEqual(spanIds(a));
  });
});

/** The one delivery pipeline with the local sink as its sender (what local mode runs). */
function localPipeline(sink: LocalSink, log: { id: string; s: Settlement }[]): DeliveryPipeline {
  const { config } = resolveLibraryConfig(
    {
      maxQueueSize: 100,
      maxExportBatchSize: 3,
      scheduledDelayMillis: 60_000,
      exportTimeoutMillis: 10_000,
      requestTimeoutMillis: 1_000,
      concurrencyLimit: 1,
    },
    {},
    { mode: 'convert' },
  );
  return new DeliveryPipeline(config, {
    sender: new LocalSinkSender(sink),
    endpoint: sink.file,
    sleep: recordingSleep().sleep,
    random: () => 0.5,
    onSettled: (items, s) => {
      for (const t of items) log.push({ id: t.span.spanId, s });
    },
  });
}

describe('the delivery pipeline with the local sink as its sender', () => {
  it('settles valid transactions accepted once on disk (with their price) and invalid ones refused', async () => {
    const sink = new LocalSink({ dir });
    const settled: { id: string; s: Settlement }[] = [];
    const p = localPipeline(sink, settled);
    const txs = [makePriced({ usd: 0.5 }), invalid(), makePriced(), makePriced(), makePriced()];
    p.enqueue(txs);
    await p.forceFlush(5_000);
    expect(settled).toHaveLength(5);
    expect(settled.filter((x) => x.s.kind === 'failed')).toEqual([
      {
        id: txs[1]!.span.spanId,
        s: { kind: 'failed', reason: 'rejected', message: expect.stringMatching(/model/) },
      },
    ]);
    const records = parseRecordLines(readFileSync(sink.file, 'utf8')).records;
    expect(spanIds(records)).toEqual(spanIds([txs[0]!, txs[2]!, txs[3]!, txs[4]!]));
    expect(records[0]!.price).toEqual(txs[0]!.price);
    expect(p.stats()).toMatchObject({
      accepted: 4,
      failed: { rejected: 1 },
      queueDepth: 0,
      inFlight: 0,
      requests: 2,
    });
    await p.shutdown();
  });

  it('keeps the batch and retries when the file cannot be written', async () => {
    const sink = new LocalSink({ dir });
    await sink.open();
    // The sink file's path is a directory (works as root too, unlike permissions): every
    // append fails with EISDIR until it is removed.
    mkdirSync(sink.file);
    const settled: { id: string; s: Settlement }[] = [];
    const p = localPipeline(sink, settled);
    const tx = makePriced();
    p.enqueue([tx]);
    await p.forceFlush(200);
    expect(settled).toEqual([]);
    expect(p.stats().retries).toBeGreaterThan(0);
    expect(p.spaceLeft()).toBe(99); // kept: queued, or waiting for its next attempt
    expect(p.stats().accepted + p.stats().failed.rejected).toBe(0);
    rmSync(sink.file, { recursive: true });
    await p.forceFlush(5_000);
    expect(settled).toEqual([{ id: tx.span.spanId, s: { kind: 'accepted' } }]);
    expect(spanIds(parseRecordLines(readFileSync(sink.file, 'utf8')).records)).toEqual(spanIds([tx]));
    await p.shutdown();
  });
});

describe('LocalSinkSender', () => {
  it('writes priced transactions and answers like Fenra would', async () => {
    const sink = new LocalSink({ dir });
    const sender = new LocalSinkSender(sink);
    const ok = await sender.send([makePriced()], { timeoutMs: 1000 });
    expect(ok.outcome).toEqual({ kind: 'accepted', status: 202 });
    expect(ok.bytes).toBeGreaterThan(0);
    const mixed = await sender.send([makePriced(), invalid()], { timeoutMs: 1000 });
    expect(mixed.outcome.kind).toBe('partial');
    if (mixed.outcome.kind === 'partial') {
      expect(mixed.outcome.items[0]).toEqual({ status: 'accepted' });
      expect(mixed.outcome.items[1]!.status).toBe('rejected');
    }
    const records = parseRecordLines(readFileSync(sink.file, 'utf8')).records;
    expect(records).toHaveLength(2);
    expect(records.every((r) => r.price !== null)).toBe(true);
    await sender.close();
    expect((await sender.send([makePriced()], { timeoutMs: 1000 })).outcome.kind).toBe('aborted');
  });
});

describe('parseRecordLines', () => {
  it('reads convert output and reports lines that are not transactions', () => {
    const t = makePriced();
    const text = [
      JSON.stringify({
        transaction: renderTransaction(t),
        price: t.price,
        span: { trace_id: 'a', span_id: 'b', name: 'c' },
      }),
      '',
      '{"hello": 1}',
      JSON.stringify({ transaction: { ...renderTransaction(t), provider: 'nope' } }),
    ].join('\n');
    const p = parseRecordLines(text);
    expect(p.records).toHaveLength(1);
    expect(p.records[0]!.time).toBeUndefined();
    expect(p.problems).toEqual([
      'line 3: no "transaction" field',
      expect.stringMatching(/^line 4: provider/),
    ]);
  });
});

describe('Ledger', () => {
  it('totals per customer and model, counts unpriced reasons and unattributed calls', () => {
    const l = new Ledger();
    l.addAll(
      [
        makePriced({ customer: 'acme', model: 'gpt-4o', usd: 1 }),
        makePriced({ customer: 'acme', model: 'gpt-4o-mini', usd: 0.25 }),
        makePriced({ customer: 'globex', model: 'gpt-4o', usd: null }),
        makePriced({ customer: 'unattributed', model: 'gpt-4o', usd: 2 }),
      ].map(
        (t) =>
          parseRecordLines(JSON.stringify({ transaction: renderTransaction(t), price: t.price })).records[0]!,
      ),
    );
    const s = l.snapshot();
    expect(s.totals).toMatchObject({ transactions: 4, usd: 3.25, unpriced: 1 });
    expect(s.unattributed).toBe(1);
    expect(s.unpricedReasons).toEqual({ unknown_model: 1 });
    expect(s.by.customer.map((c) => [c.key, c.totals.transactions, c.totals.usd])).toEqual([
      ['unattributed', 1, 2],
      ['acme', 2, 1.25],
      ['globex', 1, 0],
    ]);
    expect(s.by.model.map((c) => [c.key, c.totals.usd])).toEqual([
      ['gpt-4o', 3],
      ['gpt-4o-mini', 0.25],
    ]);
    expect(s.by.feature).toEqual([{ key: '(none)', totals: expect.objectContaining({ transactions: 4 }) }]);
    expect(s.recent[0]!.customer).toBe('unattributed');
  });

  it('folds dimension values past maxKeys into (other)', () => {
    const l = new Ledger({ maxKeys: 2 });
    for (const c of ['a', 'b', 'c', 'd']) {
      const t = makePriced({ customer: c });
      l.add({ transaction: renderTransaction(t), price: t.price });
    }
    expect(
      l
        .snapshot()
        .by.customer.map((c) => c.key)
        .sort(),
    ).toEqual(['(other)', 'a', 'b']);
  });
});
