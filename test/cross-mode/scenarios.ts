/**
 * What the cross-mode test plays: every recorded fixture as it was exported, the traces issue 10
 * found billed differently by the processor, and random traces (fast-check) — random trees of
 * app, wrapper and LLM spans, random end orders and delivery cuts, traces split across
 * deliveries, repeated response ids, spans whose parent was never exported, roots continuing a
 * remote parent, traces whose root never comes.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { parseOtlpJsonText, spansFromOtlpJson } from '../../src/span/from-otlp-json.js';
import type { Attributes, SpanView } from '../../src/span/span-view.js';
import { SpanKind, StatusCode } from '../../src/span/span-view.js';
import type { Scenario } from './harness.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'recorded');

/** Each recorded fixture, delivered as it was recorded (one batch per export request). */
export function fixtureScenarios(): Scenario[] {
  return readdirSync(FIXTURES)
    .filter((f) => f.endsWith('.otlp.json'))
    .sort()
    .map((f) => {
      const { requests } = parseOtlpJsonText(readFileSync(join(FIXTURES, f), 'utf8'));
      const batches = requests.map((r) => spansFromOtlpJson(r).spans).filter((b) => b.length > 0);
      return { name: f.replace('.otlp.json', ''), spans: batches.flat(), batches };
    });
}

let traceSeq = 0x5000;
let spanSeq = 0x5000;
const hex = (n: number, len: number): string => n.toString(16).padStart(len, '0');
const T0 = Date.UTC(2026, 5, 1);

function span(
  traceId: string,
  parent: string | undefined,
  name: string,
  attributes: Attributes,
  over: Partial<SpanView> = {},
): SpanView {
  const id = hex(++spanSeq, 16);
  return {
    traceId,
    spanId: id,
    parentSpanId: parent,
    name,
    kind: SpanKind.INTERNAL,
    startTimeMs: T0,
    endTimeMs: T0 + 100,
    status: { code: StatusCode.UNSET },
    attributes,
    resource: {},
    scope: { name: 'cross-mode' },
    events: [],
    ...over,
  };
}

function chat(tokens: number, extra: Attributes = {}): Attributes {
  return {
    'gen_ai.operation.name': 'chat',
    'gen_ai.provider.name': 'openai',
    'gen_ai.request.model': 'gpt-4o-mini',
    'gen_ai.response.model': 'gpt-4o-mini-2024-07-18',
    'gen_ai.usage.input_tokens': tokens,
    'gen_ai.usage.output_tokens': 7,
    ...extra,
  };
}

function withoutUsage(a: Attributes): Attributes {
  const { 'gen_ai.usage.input_tokens': _in, 'gen_ai.usage.output_tokens': _out, ...rest } = a;
  return rest;
}

const newTrace = (): string => hex(++traceSeq, 32);

/** The three traces issue 10 found billed differently by the processor. */
export function issueScenarios(): Scenario[] {
  const out: Scenario[] = [];
  // Five traces whose calls repeat one provider response id (a caching proxy).
  const same: SpanView[][] = [];
  for (let i = 0; i < 5; i++) {
    const t = newTrace();
    const root = span(
      t,
      undefined,
      'GET /ask',
      { 'fenra.billable_customer_id': `same-${i}` },
      { kind: SpanKind.SERVER },
    );
    const llm = span(
      t,
      root.spanId,
      'chat gpt-4o-mini',
      chat(100 + i, { 'gen_ai.response.id': 'chatcmpl-same' }),
      {
        kind: SpanKind.CLIENT,
      },
    );
    same.push([llm, root]);
  }
  out.push({ name: 'repeated response id across traces', spans: same.flat(), batches: same });
  // A wrapper with usage that ends before its client span.
  {
    const t = newTrace();
    const root = span(
      t,
      undefined,
      'POST /chat',
      { 'fenra.billable_customer_id': 'wrapper-co' },
      { kind: SpanKind.SERVER },
    );
    const wrapper = span(t, root.spanId, 'chat gpt-4o-mini', chat(300));
    const client = span(t, wrapper.spanId, 'chat gpt-4o-mini', chat(300), { kind: SpanKind.CLIENT });
    out.push({
      name: 'wrapper ends before its client span',
      spans: [root, wrapper, client],
      batches: [[wrapper], [client], [root]],
    });
  }
  // An LLM span whose parent was dropped by a sampler.
  {
    const t = newTrace();
    const root = span(
      t,
      undefined,
      'POST /summarise',
      { 'fenra.billable_customer_id': 'root-co' },
      { kind: SpanKind.SERVER },
    );
    const dropped = hex(++spanSeq, 16);
    const llm = span(t, dropped, 'chat gpt-4o-mini', chat(50), { kind: SpanKind.CLIENT });
    out.push({ name: 'parent dropped by a sampler', spans: [root, llm], batches: [[llm], [root]] });
  }
  return out;
}

type NodeKind = 'app' | 'llm' | 'nousage' | 'dropped';
interface NodeSpec {
  parent: number;
  kind: NodeKind;
  customer: string | null;
  user: string | null;
  response: string | null;
  tokens: number;
}
interface TraceSpec {
  nodes: NodeSpec[];
  rootCustomer: string | null;
  rootDropped: boolean;
  remoteRoot: boolean;
}

const nodeArb = (i: number): fc.Arbitrary<NodeSpec> =>
  fc.record({
    parent: fc.integer({ min: 0, max: i }),
    kind: fc.constantFrom<NodeKind>('app', 'llm', 'llm', 'llm', 'nousage', 'dropped'),
    customer: fc.option(fc.constantFrom('cus-a', 'cus-b'), { freq: 4 }),
    user: fc.option(fc.constantFrom('u-1', 'u-2'), { freq: 4 }),
    response: fc.option(fc.constantFrom('resp-1', 'resp-2'), { freq: 2 }),
    tokens: fc.integer({ min: 1, max: 5000 }),
  });

const traceArb: fc.Arbitrary<TraceSpec> = fc
  .integer({ min: 1, max: 7 })
  .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => nodeArb(i))))
  .chain((nodes) =>
    fc.record({
      nodes: fc.constant(nodes),
      rootCustomer: fc.option(fc.constantFrom('root-x', 'root-y')),
      rootDropped: fc.integer({ min: 0, max: 7 }).map((n) => n === 0),
      remoteRoot: fc.boolean(),
    }),
  );

/** Random scenarios: 1–3 traces, their spans ended in a random order and cut into deliveries. */
export function randomScenarios(seed: number, count: number): Scenario[] {
  const arb = fc.record({
    traces: fc.array(traceArb, { minLength: 1, maxLength: 3 }),
    order: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 40, maxLength: 40 }),
    cuts: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 6 }),
  });
  return fc.sample(arb, { seed, numRuns: count }).map((g, n) => build(g, n));
}

function build(g: { traces: TraceSpec[]; order: number[]; cuts: number[] }, n: number): Scenario {
  const exported: SpanView[] = [];
  for (const spec of g.traces) {
    const t = newTrace();
    const rootId = hex(++spanSeq, 16);
    const ids: string[] = [rootId];
    const root = span(
      t,
      spec.remoteRoot ? hex(++spanSeq, 16) : undefined,
      'GET /r',
      spec.rootCustomer ? { 'fenra.billable_customer_id': spec.rootCustomer } : {},
      { spanId: rootId, kind: SpanKind.SERVER, parentIsRemote: spec.remoteRoot || undefined },
    );
    if (!spec.rootDropped) exported.push(root);
    spec.nodes.forEach((node, i) => {
      const parent = ids[node.parent]!;
      const attrs: Attributes = {
        ...(node.customer ? { 'customer.id': node.customer } : {}),
        ...(node.user ? { 'user.id': node.user } : {}),
      };
      const s =
        node.kind === 'llm'
          ? span(
              t,
              parent,
              'chat',
              chat(node.tokens, {
                ...attrs,
                ...(node.response ? { 'gen_ai.response.id': node.response } : {}),
              }),
              {
                kind: SpanKind.CLIENT,
              },
            )
          : node.kind === 'nousage'
            ? span(t, parent, 'chat', withoutUsage(chat(1, attrs)))
            : span(t, parent, `app-${i}`, attrs);
      ids.push(s.spanId);
      if (node.kind !== 'dropped') exported.push(s);
    });
  }
  const order = exported.map((s, i) => ({ s, k: g.order[i % g.order.length]! + i * 1e-9 }));
  order.sort((a, b) => a.k - b.k);
  const ended = order.map((o, i) => ({ ...o.s, endTimeMs: T0 + 100 + i }));
  const cuts = [...new Set(g.cuts.map((c) => Math.floor(c * ended.length)))].sort((a, b) => a - b);
  const batches: SpanView[][] = [];
  let from = 0;
  for (const c of [...cuts, ended.length]) {
    if (c > from) batches.push(ended.slice(from, c));
    from = Math.max(from, c);
  }
  return { name: `random #${n}`, spans: ended, batches };
}
