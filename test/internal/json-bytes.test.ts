import { describe, expect, it } from 'vitest';
import { jsonArrayBytes } from '../../src/internal/json-bytes.js';
import { serialiseSpans, spansBytes } from '../../src/sidecar/spool.js';
import type { SpanView } from '../../src/span/span-view.js';

/** A small seeded generator (xorshift32): the same cases on every run. */
function rng(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

const TEXTS = [
  'plain',
  'café',
  '中文',
  'emoji 😀',
  'lone \ud800 half',
  'quote " and \\ slash',
  '\n\t\u0000',
  '',
];

function item(r: () => number, depth = 0): unknown {
  const k = Math.floor(r() * (depth > 2 ? 5 : 8));
  switch (k) {
    case 0:
      return TEXTS[Math.floor(r() * TEXTS.length)];
    case 1:
      return Math.floor(r() * 1e9) / (r() < 0.5 ? 1 : 1000);
    case 2:
      return r() < 0.5;
    case 3:
      return null;
    case 4:
      return undefined; // in an array: null
    case 5:
      return Array.from({ length: Math.floor(r() * 4) }, () => item(r, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = Math.floor(r() * 5); i > 0; i--)
        o[TEXTS[i % TEXTS.length]! + String(i)] = item(r, depth + 1);
      return o;
    }
  }
}

describe('jsonArrayBytes', () => {
  it('gives the bytes of prefix + JSON.stringify(items) + suffix, at every piece boundary', () => {
    const r = rng(7);
    for (const n of [0, 1, 2, 63, 64, 65, 127, 128, 129, 200, 1000]) {
      const items = Array.from({ length: n }, () => item(r));
      for (const [prefix, suffix] of [
        ['', ''],
        ['{"transactions":', '}'],
        ['«', '»'],
      ] as const) {
        const want = Buffer.from(prefix + JSON.stringify(items) + suffix);
        expect(jsonArrayBytes(items, prefix, suffix).equals(want), `${n} items, ${prefix}…${suffix}`).toBe(
          true,
        );
      }
    }
  });

  it('applies a replacer of values the same as JSON.stringify does', () => {
    const replacer = (_k: string, v: unknown): unknown => (typeof v === 'number' ? v * 2 : v);
    const items = Array.from({ length: 150 }, (_, i) => ({ i, xs: [i, 'x'] }));
    expect(jsonArrayBytes(items, '', '', replacer).toString()).toBe(JSON.stringify(items, replacer));
  });

  it('makes a spool record of the same bytes as the text form', () => {
    const spans = Array.from(
      { length: 130 },
      (_, i): SpanView =>
        ({
          traceId: '0af7651916cd43dd8448eb211c80319c',
          spanId: `b7ad6b71${String(i).padStart(8, '0')}`,
          parentSpanId: undefined,
          parentIsRemote: false,
          name: `chat ${i} é`,
          kind: 2,
          startTimeMs: 1_700_000_000_000 + i,
          endTimeMs: 1_700_000_000_500 + i,
          status: { code: 0 },
          attributes: { 'gen_ai.usage.input_tokens': i, blob: new Uint8Array([i & 255, 1, 2]) },
          resource: { attributes: { 'service.name': 'api' } },
          scope: { name: 'x' },
          events: [],
        }) as unknown as SpanView,
    );
    expect(spansBytes(spans).equals(Buffer.from(serialiseSpans(spans)))).toBe(true);
  });
});
