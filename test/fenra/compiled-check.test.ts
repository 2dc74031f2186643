/**
 * The acceptance test compiled from the zod wire schema must be sound: whenever it accepts a
 * value, zod accepts it too. Checked on hand-picked edge cases and on random mutations of a
 * valid transaction; and `validateTransaction` must give zod's verdict on every one.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { compileAcceptance } from '../../src/fenra/compiled-check.js';
import { validateTransaction } from '../../src/fenra/render-transaction.js';
import { fenraTransactionSchema } from '../../src/fenra/transaction-schema.js';

const accept = compileAcceptance(fenraTransactionSchema());
const zodOk = (v: unknown): boolean => fenraTransactionSchema().safeParse(v).success;

function valid(): Record<string, unknown> {
  return {
    provider: 'anthropic',
    model: 'claude-sonnet-4-5',
    usage: [{ type: 'tokens', metrics: { input_tokens: 10, output_tokens: 5 } }],
    context: { billable_customer_id: 'c-1', trace_id: 'abc', usage_estimated: true, n: 3 },
  };
}

function expectAgrees(v: unknown): void {
  const z = zodOk(v);
  // Sound: never accepts what zod refuses.
  if (accept(v)) expect(z).toBe(true);
  expect(validateTransaction(v) === undefined).toBe(z);
}

describe('compileAcceptance(fenraTransactionSchema())', () => {
  it('accepts valid transactions (the fast path is taken)', () => {
    expect(accept(valid())).toBe(true);
    expect(accept({ ...valid(), model_tier: 'batch' })).toBe(true);
    expect(accept({ ...valid(), model_tier: undefined })).toBe(true);
    const two = valid();
    two['usage'] = [
      { type: 'tokens', metrics: { input_tokens: 0 } },
      { type: 'images', metrics: { images: 2 } },
    ];
    expect(accept(two)).toBe(true);
  });

  const edits: Array<[string, (t: Record<string, unknown>) => void]> = [
    ['unknown provider', (t) => (t['provider'] = 'mistral')],
    ['empty model', (t) => (t['model'] = '')],
    ['number model', (t) => (t['model'] = 4)],
    ['empty tier', (t) => (t['model_tier'] = '')],
    ['null tier', (t) => (t['model_tier'] = null)],
    ['extra root key', (t) => (t['extra'] = 1)],
    ['extra root key undefined', (t) => (t['extra'] = undefined)],
    ['missing context', (t) => delete t['context']],
    ['missing model', (t) => delete t['model']],
    ['empty usage', (t) => (t['usage'] = [])],
    ['usage not an array', (t) => (t['usage'] = { 0: { type: 'tokens', metrics: { a: 1 } } })],
    [
      'duplicate usage type',
      (t) =>
        (t['usage'] = [
          { type: 'tokens', metrics: { a: 1 } },
          { type: 'tokens', metrics: { b: 1 } },
        ]),
    ],
    ['bad usage type', (t) => (t['usage'] = [{ type: 'words', metrics: { a: 1 } }])],
    ['extra usage key', (t) => (t['usage'] = [{ type: 'tokens', metrics: { a: 1 }, x: 1 }])],
    ['empty metrics', (t) => (t['usage'] = [{ type: 'tokens', metrics: {} }])],
    ['empty metric name', (t) => (t['usage'] = [{ type: 'tokens', metrics: { '': 1 } }])],
    ['negative metric', (t) => (t['usage'] = [{ type: 'tokens', metrics: { a: -1 } }])],
    ['minus zero metric', (t) => (t['usage'] = [{ type: 'tokens', metrics: { a: -0 } }])],
    ['NaN metric', (t) => (t['usage'] = [{ type: 'tokens', metrics: { a: NaN } }])],
    ['infinite metric', (t) => (t['usage'] = [{ type: 'tokens', metrics: { a: Infinity } }])],
    ['string metric', (t) => (t['usage'] = [{ type: 'tokens', metrics: { a: '1' } }])],
    ['metrics array', (t) => (t['usage'] = [{ type: 'tokens', metrics: [1] }])],
    ['metrics class instance', (t) => (t['usage'] = [{ type: 'tokens', metrics: new Map([['a', 1]]) }])],
    [
      'null-prototype metrics',
      (t) => (t['usage'] = [{ type: 'tokens', metrics: Object.assign(Object.create(null), { a: 1 }) }]),
    ],
    ['empty customer', (t) => (t['context'] = { billable_customer_id: '' })],
    ['number customer', (t) => (t['context'] = { billable_customer_id: 5 })],
    ['surrogate customer', (t) => (t['context'] = { billable_customer_id: '\ud83d\ude00' })],
    ['lone surrogate customer', (t) => (t['context'] = { billable_customer_id: '\ud83d' })],
    ['object context value', (t) => (t['context'] = { billable_customer_id: 'c', x: {} })],
    ['null context value', (t) => (t['context'] = { billable_customer_id: 'c', x: null })],
    ['undefined context value', (t) => (t['context'] = { billable_customer_id: 'c', x: undefined })],
    ['infinite context value', (t) => (t['context'] = { billable_customer_id: 'c', x: -Infinity })],
    ['array root', (t) => Object.setPrototypeOf(t, Array.prototype)],
  ];
  for (const [name, edit] of edits) {
    it(`agrees with zod: ${name}`, () => {
      const t = valid();
      edit(t);
      expectAgrees(t);
    });
  }

  it('never accepts a symbol metric key (zod refuses it)', () => {
    const t = valid();
    t['usage'] = [{ type: 'tokens', metrics: { a: 1, [Symbol('s')]: 2 } }];
    expect(zodOk(t)).toBe(false);
    expect(accept(t)).toBe(false);
  });

  it('agrees with zod on non-objects', () => {
    for (const v of [null, undefined, 0, 'x', [], [valid()], new Date()]) expectAgrees(v);
  });

  it('agrees with zod on random transactions', () => {
    const scalar = fc.oneof(
      fc.string({ maxLength: 3 }),
      fc.double(),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.constant(undefined),
    );
    const metrics = fc.dictionary(fc.string({ maxLength: 3 }), fc.oneof(fc.double(), fc.integer(), scalar), {
      maxKeys: 3,
    });
    const entry = fc.record(
      {
        type: fc.oneof(fc.constantFrom('tokens', 'images', 'audio', 'video', 'requests', 'custom'), scalar),
        metrics: fc.oneof(metrics, scalar),
      },
      { requiredKeys: [] },
    );
    const tx = fc.record(
      {
        provider: fc.oneof(fc.constantFrom('openai', 'anthropic', 'custom', 'other'), scalar),
        model: scalar,
        model_tier: scalar,
        usage: fc.oneof(fc.array(entry, { maxLength: 3 }), scalar),
        context: fc.oneof(
          fc.dictionary(fc.constantFrom('billable_customer_id', 'a', 'b'), scalar, { maxKeys: 3 }),
          scalar,
        ),
        extra: scalar,
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(tx, (t) => expectAgrees(t)),
      { numRuns: 3000 },
    );
  });
});

describe('compileAcceptance on other zod shapes', () => {
  it('falls back to zod on nodes it does not compile, and stays sound', () => {
    const s = z.object({
      email: z.string().email(),
      n: z.number().int(),
      t: z.string().transform((x) => x.length),
      u: z.unknown(),
      loose: z.object({ a: z.string() }).refine((o) => Object.keys(o).length === 1),
    });
    const ok = { email: 'a@b.co', n: 1, t: 'x', u: 1, loose: { a: 'x' } };
    const f = compileAcceptance(s);
    expect(f(ok)).toBe(true);
    expect(s.safeParse(ok).success).toBe(true);
    for (const bad of [
      { ...ok, email: 'nope' },
      { ...ok, n: 1.5 },
      { ...ok, t: 3 },
      { email: 'a@b.co', n: 1, t: 'x', loose: { a: 'x' } },
      // zod strips the extra key before the refinement sees it: accepted by zod; the compiled
      // check must not claim to know (a stripping object's refinement is left to zod).
      { ...ok, loose: { a: 'x', b: 1 } },
    ]) {
      if (f(bad)) expect(s.safeParse(bad).success).toBe(true);
    }
    expect(f({ ...ok, email: 'nope' })).toBe(false);
    expect(f({ ...ok, n: 1.5 })).toBe(false);
    const stripped = { ...ok, loose: { a: 'x', b: 1 } };
    expect(s.safeParse(stripped).success).toBe(true);
    expect(f(stripped)).toBe(true);
  });
});
