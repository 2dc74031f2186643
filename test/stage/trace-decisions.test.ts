import { describe, expect, it } from 'vitest';
import { TraceDecisions } from '../../src/stage/trace-decisions.js';

describe('TraceDecisions', () => {
  it('remembers what a trace billed: the call, the spans above it, its provider response', () => {
    const d = new TraceDecisions(10);
    expect(d.get('t1')).toBeUndefined();
    d.billed('t1', d.get('t1'), 's1', ['p1', 'root'], 'openai:resp_1');
    const t = d.get('t1')!;
    expect([t.isBilled('s1'), t.isWrapping('p1'), t.isWrapping('root')]).toEqual([true, true, true]);
    expect(t.isResponse('openai:resp_1')).toBe(true);
    expect([t.isBilled('p1'), t.isWrapping('s1'), t.isResponse('openai:resp_2')]).toEqual([
      false,
      false,
      false,
    ]);
    expect(d.get('t2')).toBeUndefined();
  });

  it('a trace of thousands of calls: every id is found, none invented, repeats kept once', () => {
    const d = new TraceDecisions(10);
    let known = d.get('t');
    for (let i = 0; i < 3000; i++)
      known = d.billed('t', known, `s${i}`, ['root'], i % 2 === 0 ? `r${i}` : undefined);
    // A later resolution of the same trace looks it up again.
    for (let i = 0; i < 3; i++) d.billed('t', d.get('t'), `s${i}`, ['root'], undefined);
    const t = d.get('t')!;
    for (const i of [0, 1, 2, 15, 16, 17, 999, 2999]) expect(t.isBilled(`s${i}`)).toBe(true);
    expect(t.isBilled('s3000')).toBe(false);
    expect([t.isResponse('r16'), t.isResponse('r17')]).toEqual([true, false]);
    expect(t.isWrapping('root')).toBe(true);
  });

  it('is bounded: the oldest traces are forgotten first', () => {
    const d = new TraceDecisions(2);
    d.billed('a', d.get('a'), 's', [], undefined);
    d.billed('b', d.get('b'), 's', [], undefined);
    d.billed('c', d.get('c'), 's', [], undefined);
    expect([d.get('a'), d.get('b')?.isBilled('s'), d.get('c')?.isBilled('s')]).toEqual([
      undefined,
      true,
      true,
    ]);
  });

  it('keeps one id inline, then a list: each kind answers the same at one, two and many ids', () => {
    const d = new TraceDecisions(10);
    const seen: string[] = [];
    for (let i = 0; i < 40; i++) {
      // Every id twice: a repeat changes nothing.
      for (let r = 0; r < 2; r++) d.billed('t', d.get('t'), `s${i}`, [`a${i}`], `r${i}`);
      seen.push(`${i}`);
      const t = d.get('t')!;
      for (const j of seen)
        expect([t.isBilled(`s${j}`), t.isWrapping(`a${j}`), t.isResponse(`r${j}`)]).toEqual([
          true,
          true,
          true,
        ]);
      expect([t.isBilled(`s${i + 1}`), t.isWrapping(`s${i}`), t.isResponse(`a${i}`)]).toEqual([
        false,
        false,
        false,
      ]);
    }
  });
});
