import type { PricedTransaction } from '../stage/priced-transaction.js';
import type { BatchResult, BatchSender } from './sender.js';
import { emptyResult } from './sender.js';

/**
 * Refused singles, with no acceptance in between, after which a batch is taken for a
 * destination that refuses everything (a deploy answering 400 to all, a proxy's body limit).
 */
const STORM_SINGLES = 2;

/** Refusal messages remembered as a rule's (a transaction was proven bad with them). */
const RULE_MESSAGES = 32;

/** One delivery's progress. */
interface Run {
  readonly out: BatchResult;
  readonly deadline: number;
  /** Singles refused in this delivery and not proven bad, with the message of their refusal. */
  readonly suspects: { item: PricedTransaction; mark: number; message: string }[];
  /** A part of this batch was accepted. */
  accepted: boolean;
  /**
   * The refusal messages of the transactions of this batch proven bad; set once one is (the
   * destination takes others).
   */
  provenMessages: Set<string> | undefined;
  /** Suspects refused in words no rule was proven to use. */
  unknownRefusals: number;
  /** `_started` when the first refusal of this delivery came back. */
  firstRefusal: number;
}

/**
 * A sender that finds the transactions a rule refuses. A batch refused as a whole (400/413:
 * the destination does not say which items) is split in halves, each sent on its own, down to
 * the single transactions that are refused; the rest are delivered.
 *
 * The rule for failing a transaction for good (`rejected`): it was refused, then the
 * destination accepted a request sent after that refusal came back, then it was refused
 * alone. Either the first refusal is of a part it belongs to whose other half was then
 * accepted, all of it (it is the right half's single: proven at once), or it is its own
 * refusal alone (it is sent alone once more). A destination that refuses everything for a
 * while (a storm of 400s) cannot produce that sequence unless it storms twice. Counting "any
 * acceptance since the bisection began" instead lost transactions: a batch accepted just
 * before a storm counted as evidence against what the storm refused. Requests are numbered as
 * they start, so "sent after" is exact across concurrent batches.
 *
 * - A single refused with the very message with which another transaction of its batch was
 *   just proven bad is proven too (a rule's refusal, word for word: a storm beginning in
 *   between would have to answer the same words). So a batch of bad transactions after the
 *   last good ones (the end of a back-fill, a quiet app) is settled, not kept for ever.
 * - A single refused once is a suspect. Once something sent after its refusal is accepted (a
 *   later part of its batch, another batch), it is sent alone again: one more request per bad
 *   transaction, which local validation makes rare.
 * - Suspects remembered from earlier deliveries are ordered in their next batch: those with
 *   evidence first (refused again, they are proven), those without last (the parts tried
 *   before them can give it).
 * - When {@link STORM_SINGLES} singles of a batch are refused, in words no transaction was
 *   lately proven bad with, and nothing sent after its first refusal was accepted (of this
 *   batch or another), the destination looks down: nothing is failed, what was not delivered
 *   is kept, and sending pauses (`rejecting_all`), probed like a refused key. The pipeline puts
 *   a batch kept so at the back of its queue, so the probe tries other transactions: a batch
 *   of nothing but bad transactions is then told from a storm by the others' acceptance. So a
 *   storm costs log2(batch) + 2 requests and loses nothing.
 * - A suspect that got no evidence in its delivery is kept: it goes back to the queue (with a
 *   pause if nothing of its batch was accepted, so that a quiet system does not spin on it).
 */
export class BisectingSender implements BatchSender {
  private readonly _inner: BatchSender;
  /** Requests started so far; each inner delivery (its retries included) is one. */
  private _started = 0;
  /** The highest number of a started request that was accepted, wholly or in part. */
  private _lastAccepted = 0;
  /** Refused alone and not proven bad: `_started` when the refusal came back. */
  private readonly _suspects = new WeakMap<PricedTransaction, number>();
  private _everSuspected = false;
  /** The last {@link RULE_MESSAGES} messages transactions were proven bad with, oldest first. */
  private readonly _ruleMessages = new Set<string>();

  constructor(inner: BatchSender) {
    this._inner = inner;
  }

  async deliver(items: PricedTransaction[], deadline: number): Promise<BatchResult> {
    const run: Run = {
      out: emptyResult(),
      deadline,
      suspects: [],
      accepted: false,
      provenMessages: undefined,
      unknownRefusals: 0,
      firstRefusal: 0,
    };
    const going = await this._part(this._ordered(items), run);
    const out = run.out;
    const suspects = run.suspects.splice(0);
    let kept = 0;
    for (const { item, mark } of suspects) {
      if (going && out.hold === undefined && this._lastAccepted > mark) {
        // Sent after the evidence came back: refused again means refused for good.
        await this._part([item], run);
      } else {
        out.kept.push(item);
        kept++;
      }
    }
    // A re-send is proven, accepted or kept by a hold; anything else is kept, never dropped.
    for (const { item } of run.suspects) out.kept.push(item);
    kept += run.suspects.length;
    const last = suspects[suspects.length - 1];
    if (
      kept > 0 &&
      last !== undefined &&
      out.hold === undefined &&
      !run.accepted &&
      run.provenMessages === undefined
    )
      out.hold = rejectingAll(last.message);
    return out;
  }

  /**
   * The batch in the order that settles suspects soonest: first those remembered with evidence
   * since their refusal (refused again, they are proven bad, which also says the destination is
   * not refusing everything), then the rest, then those still without evidence (the parts tried
   * before them can give it). Otherwise in the order given.
   */
  private _ordered(items: PricedTransaction[]): PricedTransaction[] {
    if (!this._everSuspected) return items;
    const first: PricedTransaction[] = [];
    const middle: PricedTransaction[] = [];
    const last: PricedTransaction[] = [];
    for (const item of items) {
      const mark = this._suspects.get(item);
      if (mark === undefined) middle.push(item);
      else if (this._lastAccepted > mark) first.push(item);
      else last.push(item);
    }
    if (middle.length === items.length) return items;
    return first.concat(middle, last);
  }

  /**
   * Sends one part; false once sending must stop (the rest is then kept). `siblingAccepted`:
   * the other half of the refused part this one comes from was accepted, all of it, after that
   * refusal came back.
   */
  private async _part(items: PricedTransaction[], run: Run, siblingAccepted = false): Promise<boolean> {
    const { out } = run;
    const number = ++this._started;
    const seenAccepted = this._lastAccepted;
    const r = await this._inner.deliver(items, run.deadline);
    if (r.accepted.length > 0) {
      run.accepted = true;
      if (number > this._lastAccepted) this._lastAccepted = number;
      out.accepted.push(...r.accepted);
    }
    if (r.refused.length > 0) out.refused.push(...r.refused);
    if (r.kept.length > 0) out.kept.push(...r.kept);
    if (r.hold !== undefined) {
      out.hold = r.hold;
      if (r.refusedWhole) out.kept.push(...r.refusedWhole.items);
      return false;
    }
    if (r.refusedWhole === undefined) return true;
    const { items: whole, message } = r.refusedWhole;
    if (run.firstRefusal === 0) run.firstRefusal = this._started;
    if (whole.length > 1) {
      const half = Math.ceil(whole.length / 2);
      const [left, right] = [whole.slice(0, half), whole.slice(half)];
      const before = out.accepted.length;
      if (!(await this._part(left, run))) {
        out.kept.push(...right);
        return false;
      }
      return this._part(right, run, out.accepted.length - before === left.length);
    }
    const item = whole[0] as PricedTransaction;
    const refusedBefore = this._suspects.get(item);
    if (
      siblingAccepted ||
      (refusedBefore !== undefined && seenAccepted > refusedBefore) ||
      run.provenMessages?.has(message) === true
    ) {
      this._suspects.delete(item);
      (run.provenMessages ??= new Set()).add(message);
      this._ruleMessages.delete(message);
      this._ruleMessages.add(message);
      if (this._ruleMessages.size > RULE_MESSAGES)
        this._ruleMessages.delete(this._ruleMessages.values().next().value!);
      out.refused.push({ items: whole, reason: 'rejected', message });
      return true;
    }
    const mark = this._started;
    this._suspects.set(item, mark);
    this._everSuspected = true;
    run.suspects.push({ item, mark, message });
    if (!this._ruleMessages.has(message)) run.unknownRefusals++;
    // Not a storm once anything sent after this batch's first refusal was accepted, nor while
    // the refusals are in words a rule was already proven to use (the bisection goes on: a
    // storm in those very words costs a batch's worth of requests, then pauses as well).
    const storm =
      run.unknownRefusals >= STORM_SINGLES &&
      !run.accepted &&
      run.provenMessages === undefined &&
      this._lastAccepted <= run.firstRefusal;
    if (!storm) return true;
    out.hold = rejectingAll(message);
    return false;
  }
}

function rejectingAll(message: string): NonNullable<BatchResult['hold']> {
  return {
    kind: 'blocked',
    state: 'rejecting_all',
    status: 400,
    message: `every part of a refused batch was refused too (last: ${message})`,
  };
}
