import { describe, expect, it } from 'vitest';
import { MARKERS, hasGenAiMarker } from '../../src/genai/detect.js';

describe('hasGenAiMarker agrees with MARKERS', () => {
  it('each marker alone is enough, whatever its value', () => {
    for (const key of MARKERS) {
      for (const value of ['chat', 0, false, '', null]) expect(hasGenAiMarker({ [key]: value })).toBe(true);
    }
  });

  it('a marker set to undefined does not count', () => {
    for (const key of MARKERS) expect(hasGenAiMarker({ [key]: undefined })).toBe(false);
  });

  it('spans without a marker: HTTP, DB, and GenAI keys that are not markers', () => {
    expect(hasGenAiMarker({})).toBe(false);
    expect(
      hasGenAiMarker({ 'http.request.method': 'GET', 'url.full': 'https://x', 'server.port': 443 }),
    ).toBe(false);
    expect(
      hasGenAiMarker({
        'gen_ai.response.model': 'gpt-4o',
        'gen_ai.usage.output_tokens': 3,
        'llm.provider': 'openai',
        'ai.model.id': 'x',
        'gen_ai.operation': 'chat',
      }),
    ).toBe(false);
  });

  it('a marker after many other keys, and keys whose first letter is not ASCII', () => {
    const wide: Record<string, string> = {};
    for (let i = 0; i < 100; i++) wide[`http.header.x_${i}`] = 'v';
    wide['çgen_ai.system'] = 'v';
    wide[''] = 'v';
    expect(hasGenAiMarker(wide)).toBe(false);
    wide['traceloop.span.kind'] = 'llm';
    expect(hasGenAiMarker(wide)).toBe(true);
  });

  it('the same answer as a lookup of every key of the list, on random key mixes', () => {
    const pool = [...MARKERS, 'http.route', 'db.system', 'gen_ai.response.id', 'llm.model_name'];
    let seed = 7;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let i = 0; i < 500; i++) {
      const a: Record<string, string> = {};
      for (const k of pool) if (rnd() < 0.08) a[k] = 'v';
      expect(hasGenAiMarker(a)).toBe(MARKERS.some((k) => a[k] !== undefined));
    }
  });
});
