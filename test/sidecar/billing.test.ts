import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PricedTransaction } from '../../src/stage/priced-transaction.js';
import type { Pricer } from '../../src/pricing/types.js';
import { BillingPath } from '../../src/sidecar/billing.js';
import type { PipelinePort } from '../../src/sidecar/billing.js';
import type { SettledHook, Settlement } from '../../src/pipeline/settlement-ledger.js';
import type { DiskSpoolOptions } from '../../src/sidecar/disk-spool.js';
import { DiskSpool } from '../../src/sidecar/disk-spool.js';
import { MemorySpool, RESERVE_FRACTION, serialiseSpans } from '../../src/sidecar/spool.js';
import { toTransactions } from '../../src/stage/to-transactions.js';
import type { Attributes, SpanView } from '../../src/span/span-view.js';
import { ManualScheduler } from '../helpers/manual-scheduler.js';
import { makeSpan } from '../helpers/span.js';
import { faultyFs } from '../helpers/faulty-fs.js';
import { until } from './spawn-sidecar.js';

const pricer: Pricer = {
  price: (r) => ({ usd: r.usage.inputTokens / 1e6, source: 'catalog', catalog: 'test' }),
};

const chat: Attributes = {
  'gen_ai.operation.name': 'chat',
  'gen_ai.provider.name': 'openai',
  'gen_ai.request.model': 'gpt-4o',
  'gen_ai.usage.input_tokens': 100,
  'gen_ai.usage.output_tokens': 10,
  'bytes.attr': new Uint8Array([1, 2, 3]),
};

/** A pipeline double: holds what it is given until the test settles it. */
class HeldDelivery implements PipelinePort {
  items: { tx: PricedTransaction; maybeSent: boolean; settle: (s: Settlement) => void }[] = [];
  room = Infinity;
  private readonly _hooks: SettledHook[] = [];
  readonly sendingHooks: ((items: readonly PricedTransaction[]) => void)[] = [];
  spaceLeft(): number {
    return this.room - this.items.length;
  }
  enqueue(txs: readonly PricedTransaction[], maybeSent = false): void {
    for (const tx of txs)
      this.items.push({
        tx,
        maybeSent,
        settle: (s) => {
          for (const h of this._hooks) h([tx], s);
        },
      });
  }
  onSettled(hook: SettledHook): void {
    this._hooks.push(hook);
  }
  onSending(hook: (items: readonly PricedTransaction[]) => void): void {
    this.sendingHooks.push(hook);
  }
  /** Puts what is held "on the wire" (the spool notes it), without an answer yet. */
  send(): void {
    for (const h of this.sendingHooks) h(this.items.map((i) => i.tx));
  }
  acceptAll(): void {
    for (const i of this.items.splice(0)) i.settle({ kind: 'accepted' });
  }
}

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 20));

function trace(n: number, customer: string): { llm: SpanView; root: SpanView } {
  const traceId = n.toString(16).padStart(32, 'c');
  const root = makeSpan({ 'fenra.billable_customer_id': customer }, { traceId, name: 'POST /chat', kind: 1 });
  const llm = makeSpan(chat, { traceId, parentSpanId: root.spanId, name: 'chat gpt-4o' });
  return { llm, root };
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fenra-spool-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true, maxRetries: 5 }));

function open(
  delivery: PipelinePort,
  waitMillis = 60_000,
  scheduler?: ManualScheduler,
  options: DiskSpoolOptions = {},
): { billing: BillingPath; spool: DiskSpool } {
  const spool = new DiskSpool(dir, 10 * 1024 * 1024, options);
  const contents = spool.load();
  const billing = new BillingPath(
    { conversion: {}, pricer, waitMillis, maxTraces: 100, maxSpansPerTrace: 100, scheduler },
    spool,
    delivery,
  );
  billing.replay(contents.records, contents.acked, contents.sent);
  return { billing, spool };
}

const records = (): string[] => readdirSync(dir).filter((f) => f.startsWith('rec-'));

describe('BillingPath with a disk spool', () => {
  it('holds an LLM span until its root arrives in a later request, then bills the root customer', async () => {
    const d = new HeldDelivery();
    const { billing, spool } = open(d);
    const t = trace(1, 'acme');
    expect(await billing.ingest([t.llm])).toEqual({ status: 'ok', billable: 1 });
    expect(d.items).toHaveLength(0);
    expect(records()).toHaveLength(1);
    await billing.ingest([t.root]);
    expect(d.items.map((i) => i.tx.context.billable_customer_id)).toEqual(['acme']);
    expect(records()).toHaveLength(2);
    d.acceptAll();
    await tick();
    await spool.settle();
    expect(records()).toHaveLength(0);
    billing.stop();
  });

  it('attributes an LLM span and its root sent in two concurrent requests', async () => {
    const d = new HeldDelivery();
    const { billing } = open(d);
    const t = trace(20, 'hooli');
    await Promise.all([billing.ingest([t.llm]), billing.ingest([t.root])]);
    expect(d.items.map((i) => i.tx.context.billable_customer_id)).toEqual(['hooli']);
    billing.stop();
  });

  it('spools no prompt or completion content, and bills the same', async () => {
    const d = new HeldDelivery();
    const { billing } = open(d);
    const t = trace(21, 'acme');
    const secret = 'the patient record says 42';
    const llm = {
      ...t.llm,
      attributes: {
        ...t.llm.attributes,
        'gen_ai.prompt.0.content': secret,
        'gen_ai.input.messages': `[${secret}]`,
      },
      events: [{ name: 'gen_ai.user.message', timeMs: 1, attributes: { content: secret } }],
    };
    await billing.ingest([llm]);
    const files = readdirSync(dir).filter((f) => f.startsWith('rec-'));
    expect(files).toHaveLength(1);
    expect(readFileSync(join(dir, files[0]!), 'utf8')).not.toContain('patient');
    await billing.ingest([t.root]);
    expect(d.items.map((i) => i.tx.context.billable_customer_id)).toEqual(['acme']);
    billing.stop();
  });

  it('answers full (so the sender retries) when the spool cannot be written', async () => {
    const d = new HeldDelivery();
    const { billing } = open(d);
    rmSync(dir, { recursive: true, force: true });
    expect(await billing.ingest([trace(22, 'a').llm])).toEqual({ status: 'full', why: 'spool_error' });
    // Said before the next request is even read: the disk refuses writes.
    expect(billing.pressure()?.why).toBe('spool_error');
    billing.stop();
  });

  it('an LLM span arriving after its root (in a later request) gets the root customer, also after a crash', async () => {
    const first = open(new HeldDelivery());
    const t = trace(23, 'late-corp');
    expect(await first.billing.ingest([t.root])).toEqual({ status: 'ok', billable: 0 });
    expect(records()).toHaveLength(0); // a root alone is not spooled
    await first.billing.ingest([t.llm]);
    expect(records()).toHaveLength(1); // the LLM span, with a copy of its root
    first.billing.stop(); // crash before its short straggler wait ends

    const d = new HeldDelivery();
    const second = open(d);
    expect(d.items.map((i) => i.tx.context.billable_customer_id)).toEqual(['late-corp']);
    second.billing.stop();
  });

  it('a straggler LLM span resolves after its short wait with the remembered root', async () => {
    const d = new HeldDelivery();
    const clock = new ManualScheduler();
    const { billing } = open(d, 100, clock);
    const t = trace(24, 'slow-corp');
    await billing.ingest([t.root]);
    await billing.ingest([t.llm]);
    clock.advance(99);
    expect(d.items).toHaveLength(0);
    clock.advance(1);
    expect(d.items.map((i) => i.tx.context.billable_customer_id)).toEqual(['slow-corp']);
    billing.stop();
  });

  it('a straggler does not wait behind a trace held for the long wait', async () => {
    const d = new HeldDelivery();
    const clock = new ManualScheduler();
    const { billing } = open(d, 60_000, clock);
    await billing.ingest([trace(25, 'waiting').llm]); // held up to 60 s for its root
    const t = trace(26, 'quick');
    await billing.ingest([t.root]);
    await billing.ingest([t.llm]); // a straggler: it waits the 1 s settle time
    clock.advance(999);
    expect(d.items).toHaveLength(0);
    clock.advance(1);
    expect(d.items.map((i) => i.tx.context.billable_customer_id)).toEqual(['quick']);
    clock.advance(58_999);
    expect(d.items).toHaveLength(1);
    clock.advance(1);
    expect(d.items.map((i) => i.tx.context.billable_customer_id)).toEqual(['quick', 'unattributed']);
    billing.stop();
  });

  it('an app span that arrived before its LLM span still attributes it, as convert does, also after a crash', async () => {
    const traceId = '7'.repeat(32);
    const root = makeSpan({}, { traceId, name: 'POST /chat', kind: 1 });
    const app = makeSpan(
      { 'fenra.billable_customer_id': 'middle-corp' },
      { traceId, parentSpanId: root.spanId, name: 'answer', kind: 0 },
    );
    const llm = makeSpan(chat, { traceId, parentSpanId: app.spanId, name: 'chat gpt-4o' });
    const expected = toTransactions([root, app, llm], { pricer }).transactions.map(
      (t) => t.context.billable_customer_id,
    );
    expect(expected).toEqual(['middle-corp']);

    const first = open(new HeldDelivery());
    expect(await first.billing.ingest([app])).toEqual({ status: 'ok', billable: 0 });
    expect(records()).toHaveLength(0); // remembered in memory only
    await first.billing.ingest([llm]); // spooled with the app span it needs
    first.billing.stop(); // crash before the root comes

    const d = new HeldDelivery();
    const second = open(d);
    await second.billing.ingest([root]);
    expect(d.items.map((i) => i.tx.context.billable_customer_id)).toEqual(expected);
    second.billing.stop();
  });

  it('remembers a bounded number of such spans (the oldest leave first)', async () => {
    const d = new HeldDelivery();
    const { billing } = open(d); // maxTraces 100
    const traceId = '8'.repeat(32);
    const app = makeSpan(
      { 'fenra.billable_customer_id': 'forgotten' },
      { traceId, parentSpanId: 'a'.repeat(16) },
    );
    await billing.ingest([app]);
    for (let i = 0; i < 100; i++)
      await billing.ingest([
        makeSpan({}, { traceId: i.toString(16).padStart(32, '9'), parentSpanId: 'b'.repeat(16) }),
      ]);
    await billing.ingest([makeSpan(chat, { traceId, parentSpanId: app.spanId })]);
    billing.flushTraces();
    expect(d.items.map((i) => i.tx.context.billable_customer_id)).toEqual(['unattributed']);
    billing.stop();
  });

  it('keeps nothing for requests without GenAI spans', async () => {
    const d = new HeldDelivery();
    const { billing } = open(d);
    const plain = makeSpan({ 'http.route': '/x' }, { traceId: 'e'.repeat(32) });
    expect(await billing.ingest([plain])).toEqual({ status: 'ok', billable: 0 });
    expect(records()).toHaveLength(0);
    billing.stop();
  });

  it('finds the root when it comes before the LLM span in the same request', async () => {
    const d = new HeldDelivery();
    const { billing } = open(d);
    const t = trace(2, 'globex');
    await billing.ingest([t.root, t.llm]);
    expect(d.items.map((i) => i.tx.context.billable_customer_id)).toEqual(['globex']);
    billing.stop();
  });

  it('replays held spans after a crash, and the root arriving after the restart still attributes them', async () => {
    const first = open(new HeldDelivery());
    const t = trace(3, 'initech');
    await first.billing.ingest([t.llm]);
    first.billing.stop(); // the process "dies" here: nothing is flushed

    const d = new HeldDelivery();
    const second = open(d);
    expect(d.items).toHaveLength(0);
    await second.billing.ingest([t.root]);
    expect(d.items.map((i) => i.tx.context.billable_customer_id)).toEqual(['initech']);
    d.acceptAll();
    await tick();
    await second.spool.settle();
    expect(records()).toHaveLength(0);
    second.billing.stop();
  });

  it('replays unsettled transactions, and does not resend the ones Fenra accepted from a shared record', async () => {
    const d1 = new HeldDelivery();
    const first = open(d1);
    const a = trace(4, 'a-corp');
    const b = trace(5, 'b-corp');
    // One request: trace a complete, trace b still waiting for its root.
    await first.billing.ingest([a.llm, a.root, b.llm]);
    expect(d1.items).toHaveLength(1);
    d1.acceptAll();
    await tick();
    await first.spool.settle();
    expect(records()).toHaveLength(1); // still needed by trace b
    first.billing.stop();

    const d2 = new HeldDelivery();
    const second = open(d2);
    await second.billing.ingest([b.root]);
    expect(d2.items.map((i) => i.tx.context.billable_customer_id)).toEqual(['b-corp']);
    d2.acceptAll();
    await tick();
    await second.spool.settle();
    expect(records()).toHaveLength(0);
    second.billing.stop();
  });

  it('resends transactions that were sent but never settled before the crash', async () => {
    const d1 = new HeldDelivery();
    const first = open(d1);
    const t = trace(6, 'umbrella');
    await first.billing.ingest([t.llm, t.root]);
    expect(d1.items).toHaveLength(1);
    first.billing.stop();

    const d2 = new HeldDelivery();
    const second = open(d2);
    expect(d2.items.map((i) => i.tx.span.spanId)).toEqual([t.llm.spanId]);
    second.billing.stop();
  });

  it('a record is kept when Fenra refuses nothing yet; rejected transactions release it (counted)', async () => {
    const d = new HeldDelivery();
    const { billing, spool } = open(d);
    const t = trace(7, 'x');
    await billing.ingest([t.llm, t.root]);
    d.items.splice(0)[0]!.settle({ kind: 'failed', reason: 'rejected', message: 'HTTP 400' });
    await tick();
    await spool.settle();
    expect(records()).toHaveLength(0);
    billing.stop();
  });
});

describe('BillingPath: what a crash or a broken disk leaves', () => {
  it('transactions put on the wire without an answer are resent after a crash as possible duplicates', async () => {
    const d1 = new HeldDelivery();
    const first = open(d1);
    const a = trace(40, 'sent-corp');
    const b = trace(41, 'queued-corp');
    await first.billing.ingest([a.llm, a.root]);
    d1.send(); // a's transaction leaves, no answer yet
    await first.billing.ingest([b.llm, b.root]); // b's is only queued
    first.billing.stop(); // killed

    const d2 = new HeldDelivery();
    const second = open(d2);
    const replayed = new Map(d2.items.map((i) => [i.tx.context.billable_customer_id, i.maybeSent]));
    expect(replayed).toEqual(
      new Map([
        ['sent-corp', true],
        ['queued-corp', false],
      ]),
    );
    second.billing.stop();
  });

  it('a disk refusing the ack write keeps the shared record until the ack lands; after it, a restart sends nothing twice', async () => {
    const f = faultyFs();
    const d1 = new HeldDelivery();
    const first = open(d1, 60_000, undefined, { fs: f.fs, recoveryMillis: 10 });
    const a = trace(42, 'a-corp');
    const b = trace(43, 'b-corp');
    await first.billing.ingest([a.llm, a.root, b.llm]); // one record, shared by a and b
    f.set('read-only');
    d1.acceptAll(); // a is accepted; its ack cannot be written yet
    await tick();
    expect(first.billing.pressure()?.why).toBe('spool_error');
    expect(records()).toHaveLength(1);
    f.set(undefined);
    await until(() => first.billing.pressure() === undefined, 'the spool to recover');
    await first.spool.settle();
    first.billing.stop(); // a crash after the recovery

    const d2 = new HeldDelivery();
    const second = open(d2);
    await second.billing.ingest([b.root]);
    expect(d2.items.map((i) => i.tx.context.billable_customer_id)).toEqual(['b-corp']);
    second.billing.stop();
  });
});

describe('BillingPath and undelivered (dropped) transactions', () => {
  it('a disk spool keeps the record of a transaction dropped at shutdown', async () => {
    const d = new HeldDelivery();
    const { billing, spool } = open(d);
    const t = trace(30, 'x');
    await billing.ingest([t.llm, t.root]);
    d.items.splice(0)[0]!.settle({ kind: 'dropped', reason: 'shutdown' });
    await tick();
    await spool.settle();
    expect(records()).toHaveLength(1);
    billing.stop();
  });

  it('a memory spool frees the room of a dropped transaction', async () => {
    const d = new HeldDelivery();
    const spool = new MemorySpool(1e9);
    const billing = new BillingPath(
      { conversion: {}, pricer, waitMillis: 60_000, maxTraces: 10, maxSpansPerTrace: 10 },
      spool,
      d,
    );
    const t = trace(31, 'x');
    await billing.ingest([t.llm, t.root]);
    expect(spool.records()).toBe(1);
    d.items.splice(0)[0]!.settle({ kind: 'dropped', reason: 'shutdown' });
    await tick();
    expect(spool.records()).toBe(0);
    billing.stop();
  });
});

describe('BillingPath bounds', () => {
  it('answers full when the spool is over its size, but takes the roots of held traces (the reserve)', async () => {
    const d = new HeldDelivery();
    const held = trace(8, 'held-corp');
    const llmSize = Buffer.byteLength(serialiseSpans([held.llm]));
    const rootSize = Buffer.byteLength(serialiseSpans([held.root]));
    // Room for one held LLM span; its root fits only in the reserve.
    const max = llmSize + rootSize;
    expect(Math.floor(max * (1 - RESERVE_FRACTION))).toBeLessThan(llmSize + rootSize);
    const spool = new DiskSpool(dir, max);
    spool.load();
    const billing = new BillingPath(
      { conversion: {}, pricer, waitMillis: 60_000, maxTraces: 10, maxSpansPerTrace: 10 },
      spool,
      d,
    );
    expect(await billing.ingest([held.llm])).toEqual({ status: 'ok', billable: 1 });
    expect(await billing.ingest([trace(9, 'a').llm])).toEqual({ status: 'full', why: 'spool' });
    expect(billing.isFull()).toBe(true);
    // A request completing a held trace lets records leave: it may use the reserve.
    expect(await billing.ingest([held.root])).toEqual({ status: 'ok', billable: 1 });
    expect(d.items.map((i) => i.tx.context.billable_customer_id)).toEqual(['held-corp']);
    billing.stop();
  });

  it('keeps resolved transactions in a backlog when the delivery queue is full, and refuses more until it drains', async () => {
    const d = new HeldDelivery();
    d.room = 1;
    const billing = new BillingPath(
      { conversion: {}, pricer, waitMillis: 60_000, maxTraces: 10, maxSpansPerTrace: 10 },
      new MemorySpool(1e9),
      d,
    );
    const a = trace(10, 'a');
    const b = trace(11, 'b');
    await billing.ingest([a.llm, a.root]);
    await billing.ingest([b.llm, b.root]); // resolved, but no room: backlog
    expect(d.items).toHaveLength(1);
    expect(await billing.ingest([trace(12, 'c').llm])).toEqual({ status: 'full', why: 'queue' });
    // The next request is refused before it is read.
    expect(billing.pressure()?.why).toBe('queue');
    d.acceptAll();
    await tick();
    expect(d.items.map((i) => i.tx.context.billable_customer_id)).toEqual(['b']);
    billing.stop();
  });
});
