/**
 * One bill in every mode: every recorded fixture, the traces issue 10 found billed differently,
 * and random traces, played through the processor, the exporter, `serve` (JSON, protobuf, gRPC)
 * and `convert` with the same deliveries, give identical transactions (provider, model, every
 * metric, customer, context).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FenraTransaction } from '../../src/fenra/transaction-schema.js';
import type { Mode, Scenario } from './harness.js';
import { CrossModeHarness, MODES } from './harness.js';
import { fixtureScenarios, issueScenarios, randomScenarios } from './scenarios.js';

const SEED = 20261204;
const RANDOM_SCENARIOS = 200;

describe('every entry point bills the same trace the same way', () => {
  let harness: CrossModeHarness;
  let results: Record<Mode, FenraTransaction[]>;
  const scenarios: Scenario[] = [
    ...fixtureScenarios(),
    ...issueScenarios(),
    ...randomScenarios(SEED, RANDOM_SCENARIOS),
  ];
  const traceOwner = new Map<string, string>();
  for (const s of scenarios) for (const x of s.spans) traceOwner.set(x.traceId, s.name);

  beforeAll(async () => {
    harness = await CrossModeHarness.start();
    for (const s of scenarios) await harness.play(s);
    results = await harness.finish();
  }, 120_000);
  afterAll(() => harness?.close());

  const bySpan = (txs: FenraTransaction[]): Map<string, FenraTransaction> =>
    new Map(txs.map((t) => [`${String(t.context['trace_id'])}/${String(t.context['span_id'])}`, t]));

  it.each(MODES.filter((m) => m !== 'processor'))('%s bills exactly what the processor bills', (mode) => {
    const want = bySpan(results.processor);
    const got = bySpan(results[mode]);
    const differ: string[] = [];
    for (const key of new Set([...want.keys(), ...got.keys()])) {
      const a = want.get(key);
      const b = got.get(key);
      if (JSON.stringify(a) === JSON.stringify(b)) continue;
      const scenario = traceOwner.get(key.split('/')[0]!) ?? '?';
      differ.push(`${scenario} ${key}: processor ${JSON.stringify(a)} vs ${mode} ${JSON.stringify(b)}`);
    }
    expect(differ).toEqual([]);
    expect(results[mode]).toHaveLength(results.processor.length);
  });

  it('bills something in most scenarios (the comparison is not vacuous)', () => {
    const billed = new Set(results.processor.map((t) => traceOwner.get(String(t.context['trace_id']))));
    expect(results.processor.length).toBeGreaterThan(RANDOM_SCENARIOS);
    expect(billed.size).toBeGreaterThan(scenarios.length / 2);
  });

  it('the traces issue 10 found: five traces repeating one response id are five calls', () => {
    const same = results.processor.filter((t) =>
      String(t.context['billable_customer_id']).startsWith('same-'),
    );
    expect(same.map((t) => t.context['billable_customer_id']).sort()).toEqual([
      'same-0',
      'same-1',
      'same-2',
      'same-3',
      'same-4',
    ]);
  });

  it('the traces issue 10 found: a wrapper ending before its client span is billed once', () => {
    expect(results.processor.filter((t) => t.context['billable_customer_id'] === 'wrapper-co')).toHaveLength(
      1,
    );
  });

  it('the traces issue 10 found: a call under a dropped parent gets the root customer', () => {
    const t = results.processor.filter(
      (x) => traceOwner.get(String(x.context['trace_id'])) === 'parent dropped by a sampler',
    );
    expect(t.map((x) => x.context['billable_customer_id'])).toEqual(['root-co']);
  });
});
