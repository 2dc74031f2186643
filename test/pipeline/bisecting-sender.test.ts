/**
 * The bisecting sender's rule, against a destination whose answers the test decides (the HTTP
 * side is covered in delivery-pipeline.test.ts and the storm fault test): which transactions are
 * failed for good, which are kept, and when sending pauses. Concurrent deliveries are ordered
 * by answering their requests by hand.
 */
import { describe, expect, it } from 'vitest';
import { BisectingSender } from '../../src/pipeline/bisecting-sender.js';
import type { BatchResult, BatchSender } from '../../src/pipeline/sender.js';
import { emptyResult } from '../../src/pipeline/sender.js';
import type { PricedTransaction } from '../../src/stage/priced-transaction.js';
import { makeBatch, makePriced, spanIds } from '../helpers/priced.js';

interface Call {
  items: PricedTransaction[];
  answer: () => void;
}

/** A destination that refuses what its rule refuses, or everything during a storm. */
class Destination implements BatchSender {
  readonly bad = new Set<PricedTransaction>();
  storm = false;
  stormMessage = 'deploy gone wrong';
  /** Answer each request when the test says so (`next`), not at once. */
  manual = false;
  readonly sent: PricedTransaction[][] = [];
  private readonly _pending: Call[] = [];
  private readonly _waiting: ((c: Call) => void)[] = [];

  deliver(items: PricedTransaction[]): Promise<BatchResult> {
    this.sent.push(items);
    return new Promise((resolve) => {
      const call = { items, answer: () => resolve(this._verdict(items)) };
      if (!this.manual) return call.answer();
      const w = this._waiting.shift();
      if (w) w(call);
      else this._pending.push(call);
    });
  }

  /** The next request not answered yet (manual mode). */
  next(): Promise<Call> {
    const c = this._pending.shift();
    if (c) return Promise.resolve(c);
    return new Promise((resolve) => this._waiting.push(resolve));
  }

  private _verdict(items: PricedTransaction[]): BatchResult {
    const out = emptyResult();
    if (this.storm || items.some((i) => this.bad.has(i)))
      out.refusedWhole = { items, message: this.storm ? this.stormMessage : 'model not enabled' };
    else out.accepted.push(...items);
    return out;
  }
}

const ids = (items: readonly PricedTransaction[]): string[] => spanIds(items).sort();
const refusedIds = (r: BatchResult): string[] => ids(r.refused.flatMap((f) => f.items));

describe('BisectingSender', () => {
  it('proves a bad transaction at the front of a batch with nothing else in flight: refused alone, the rest accepted after, refused alone again', async () => {
    const d = new Destination();
    const s = new BisectingSender(d);
    const [bad, ...good] = makeBatch(4) as [PricedTransaction, ...PricedTransaction[]];
    d.bad.add(bad);
    const r = await s.deliver([bad, ...good], Infinity);
    expect(ids(r.accepted)).toEqual(ids(good));
    expect(r.refused).toEqual([{ items: [bad], reason: 'rejected', message: 'model not enabled' }]);
    expect(r.kept).toEqual([]);
    expect(r.hold).toBeUndefined();
    // whole, [bad, g1], [bad], [g1], [g2, g3], then [bad] once more after the acceptances
    expect(d.sent.map((p) => p.length)).toEqual([4, 2, 1, 1, 2, 1]);
    expect(d.sent[5]).toEqual([bad]);
  });

  it('a bad transaction whose other half was accepted after their refusal is proven at once, with no extra request', async () => {
    const d = new Destination();
    const s = new BisectingSender(d);
    const batch = makeBatch(4);
    const bad = batch[3] as PricedTransaction;
    d.bad.add(bad);
    const r = await s.deliver(batch, Infinity);
    expect(ids(r.accepted)).toEqual(ids(batch.slice(0, 3)));
    expect(refusedIds(r)).toEqual(ids([bad]));
    expect(r.hold).toBeUndefined();
    // whole, [g0, g1], [g2, bad], [g2], [bad]
    expect(d.sent.map((p) => p.length)).toEqual([4, 2, 2, 1, 1]);
  });

  it('a storm of 400s costs log2(batch) + 2 requests, fails nothing, keeps everything and pauses', async () => {
    const d = new Destination();
    d.storm = true;
    const s = new BisectingSender(d);
    const batch = makeBatch(16);
    const r = await s.deliver(batch, Infinity);
    expect(r.accepted).toEqual([]);
    expect(r.refused).toEqual([]);
    expect(ids(r.kept)).toEqual(ids(batch));
    expect(r.hold).toMatchObject({ kind: 'blocked', state: 'rejecting_all', status: 400 });
    expect(d.sent.map((p) => p.length)).toEqual([16, 8, 4, 2, 1, 1]);
  });

  it('an acceptance of a request sent before the storm is no evidence against what the storm refuses (the race of the storm fault test)', async () => {
    const d = new Destination();
    d.manual = true;
    const s = new BisectingSender(d);
    const a = makeBatch(4);
    const b = makeBatch(2);
    const first = s.deliver(a, Infinity);
    const aWhole = await d.next();
    const second = s.deliver(b, Infinity);
    const bWhole = await d.next();
    bWhole.answer(); // accepted just before the storm, while a's request is under way
    d.storm = true;
    aWhole.answer();
    for (;;) {
      const settled = await Promise.race([first.then(() => true), d.next().then((c) => (c.answer(), false))]);
      if (settled) break;
    }
    const ra = await first;
    expect(ids((await second).accepted)).toEqual(ids(b));
    expect(ra.refused).toEqual([]);
    expect(ids(ra.kept)).toEqual(ids(a));
    expect(ra.hold).toMatchObject({ state: 'rejecting_all' });
  });

  it('an acceptance of another batch sent after a refusal is evidence: no pause, the refused one sent again and proven', async () => {
    const d = new Destination();
    d.manual = true;
    const s = new BisectingSender(d);
    const [b0, b1] = makeBatch(2) as [PricedTransaction, PricedTransaction];
    d.bad.add(b0).add(b1);
    const good = makeBatch(2);
    const first = s.deliver([b0, b1], Infinity);
    (await d.next()).answer(); // the whole batch refused
    (await d.next()).answer(); // [b0] refused
    const b1Call = await d.next(); // [b1] under way
    const second = s.deliver(good, Infinity);
    (await d.next()).answer(); // another batch, sent after b0's refusal, accepted: no storm
    b1Call.answer(); // [b1] refused
    const again = await d.next(); // b0 alone once more
    expect(again.items).toEqual([b0]);
    again.answer();
    const r = await first;
    expect(ids((await second).accepted)).toEqual(ids(good));
    expect(r.refused).toEqual([{ items: [b0], reason: 'rejected', message: 'model not enabled' }]);
    // b1's refusal came back after the acceptance: no evidence for it yet; kept without a
    // pause (a transaction of this batch was proven bad, so the destination is not down).
    expect(r.kept).toEqual([b1]);
    expect(r.hold).toBeUndefined();
    // Next time it is last, after one that is accepted, and proven.
    d.manual = false;
    const g = makePriced();
    const r2 = await s.deliver([b1, g], Infinity);
    expect(d.sent.slice(-2)).toEqual([[g], [b1]]);
    expect(r2.accepted).toEqual([g]);
    expect(refusedIds(r2)).toEqual(ids([b1]));
  });

  it('a storm that ends during the bisection: the suspect is sent again and accepted, nothing is failed', async () => {
    const d = new Destination();
    d.manual = true;
    d.storm = true;
    const s = new BisectingSender(d);
    const batch = makeBatch(4);
    const done = s.deliver(batch, Infinity);
    (await d.next()).answer(); // whole
    (await d.next()).answer(); // [0, 1]
    (await d.next()).answer(); // [0]: a suspect
    d.storm = false;
    for (;;) {
      const settled = await Promise.race([done.then(() => true), d.next().then((c) => (c.answer(), false))]);
      if (settled) break;
    }
    const r = await done;
    expect(ids(r.accepted)).toEqual(ids(batch));
    expect(r.refused).toEqual([]);
    expect(r.hold).toBeUndefined();
  });

  it('a batch of nothing but bad transactions pauses at first; once others are accepted, its suspects are proven and the rest found', async () => {
    const d = new Destination();
    const s = new BisectingSender(d);
    const bad = makeBatch(6);
    for (const t of bad) d.bad.add(t);
    const r1 = await s.deliver(bad, Infinity);
    expect(r1.hold).toMatchObject({ state: 'rejecting_all' });
    expect(r1.refused).toEqual([]);
    expect(ids(r1.kept)).toEqual(ids(bad));
    // The pipeline puts it at the back; the probe is another batch, accepted.
    const other = makeBatch(3);
    expect(ids((await s.deliver(other, Infinity)).accepted)).toEqual(ids(other));
    // The bad batch again: its two suspects go first and are proven (refused again after the
    // others' acceptance); the rest are refused with the very words of those proofs.
    const sentBefore = d.sent.length;
    const r2 = await s.deliver(r1.kept, Infinity);
    expect(d.sent[sentBefore]?.slice(0, 2)).toEqual(bad.slice(0, 2));
    expect(r2.hold).toBeUndefined();
    expect(refusedIds(r2)).toEqual(ids(bad));
    expect(r2.kept).toEqual([]);
  });

  it('two bad transactions after the last good ones: kept (a storm could have begun), then proven beside the next good one', async () => {
    const d = new Destination();
    const s = new BisectingSender(d);
    const [g0, g1, b0, b1] = makeBatch(4) as [
      PricedTransaction,
      PricedTransaction,
      PricedTransaction,
      PricedTransaction,
    ];
    d.bad.add(b0).add(b1);
    const r1 = await s.deliver([g0, g1, b0, b1], Infinity);
    expect(r1).toMatchObject({ accepted: [g0, g1], refused: [], kept: [b0, b1] });
    // Part of the batch was accepted: no pause; the pipeline sends them again at once.
    expect(r1.hold).toBeUndefined();
    const r2 = await s.deliver([b0, b1], Infinity);
    expect(r2).toMatchObject({ accepted: [], refused: [], kept: [b0, b1], hold: { state: 'rejecting_all' } });
    const g2 = makePriced();
    const r3 = await s.deliver([b0, b1, g2], Infinity);
    expect(r3.accepted).toEqual([g2]);
    expect(refusedIds(r3)).toEqual(ids([b0, b1]));
    expect(r3.hold).toBeUndefined();
  });

  it('refusals in words a rule was proven to use are not taken for a storm: the bisection goes on and proves them', async () => {
    const d = new Destination();
    const s = new BisectingSender(d);
    const [g, b] = makeBatch(2) as [PricedTransaction, PricedTransaction];
    d.bad.add(b);
    expect(refusedIds(await s.deliver([g, b], Infinity))).toEqual(ids([b]));
    // Two bad ones first, nothing accepted yet: without the words, this would pause.
    const batch = makeBatch(4);
    d.bad.add(batch[0]!).add(batch[1]!);
    const r = await s.deliver(batch, Infinity);
    expect(r.hold).toBeUndefined();
    expect(refusedIds(r)).toEqual(ids(batch.slice(0, 2)));
    expect(ids(r.accepted)).toEqual(ids(batch.slice(2)));
  });

  it('a storm in those very words still keeps everything and pauses, after one batch bisected to the end', async () => {
    const d = new Destination();
    const s = new BisectingSender(d);
    const [g, b] = makeBatch(2) as [PricedTransaction, PricedTransaction];
    d.bad.add(b);
    await s.deliver([g, b], Infinity);
    d.storm = true;
    d.stormMessage = 'model not enabled';
    const batch = makeBatch(4);
    const sentBefore = d.sent.length;
    const r = await s.deliver(batch, Infinity);
    expect(r).toMatchObject({ accepted: [], refused: [], hold: { state: 'rejecting_all' } });
    expect(ids(r.kept)).toEqual(ids(batch));
    expect(d.sent.slice(sentBefore).map((p) => p.length)).toEqual([4, 2, 1, 1, 2, 1, 1]);
  });

  it('a suspect alone with no evidence is kept with a pause, never failed', async () => {
    const d = new Destination();
    const s = new BisectingSender(d);
    const bad = makePriced();
    d.bad.add(bad);
    for (let i = 0; i < 3; i++) {
      const r = await s.deliver([bad], Infinity);
      expect(r).toMatchObject({ accepted: [], refused: [], kept: [bad], hold: { state: 'rejecting_all' } });
    }
    const good = makePriced();
    const r = await s.deliver([bad, good], Infinity);
    // [good, bad] in that order: the good one's acceptance is the evidence.
    expect(r.accepted).toEqual([good]);
    expect(refusedIds(r)).toEqual(ids([bad]));
  });

  it('a hold met during the re-sends (key revoked) keeps what is unsettled, each transaction in exactly one outcome', async () => {
    const d = new Destination();
    const s = new BisectingSender(d);
    const batch = makeBatch(4);
    d.bad.add(batch[0] as PricedTransaction);
    const inner = d.deliver.bind(d);
    let calls = 0;
    d.deliver = (items) => {
      calls++;
      if (calls < 6) return inner(items);
      const out = emptyResult();
      out.kept.push(...items);
      out.hold = { kind: 'blocked', state: 'unauthorized', status: 401, message: 'key revoked' };
      return Promise.resolve(out);
    };
    const r = await s.deliver(batch, Infinity);
    expect(ids(r.accepted)).toEqual(ids(batch.slice(1)));
    expect(r.kept).toEqual([batch[0]]);
    expect(r.refused).toEqual([]);
    expect(r.hold).toMatchObject({ state: 'unauthorized' });
  });
});
