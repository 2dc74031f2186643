import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { InputItem } from '../../src/cli/otlp-input.js';
import { readOtlpJson } from '../../src/cli/otlp-input.js';
import { spansFromOtlpJson } from '../../src/span/from-otlp-json.js';

const FIXTURE = join(import.meta.dirname, '../fixtures/recorded/openai-chat.otlp.json');

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fenra-input-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function read(text: string): Promise<InputItem[]> {
  const file = join(dir, 'input.json');
  writeFileSync(file, text);
  const out: InputItem[] = [];
  for await (const item of readOtlpJson(file, Readable.from([]), { bytesRead: 0, totalBytes: undefined }))
    out.push(item);
  return out;
}

const spanIds = (items: InputItem[]): string[] =>
  items.flatMap((i) => ('request' in i ? spansFromOtlpJson(i.request).spans.map((s) => s.spanId) : []));
const errors = (items: InputItem[]): string[] => items.flatMap((i) => ('error' in i ? [i.error] : []));

describe('readOtlpJson', () => {
  const pretty = readFileSync(FIXTURE, 'utf8');
  const doc = JSON.parse(pretty) as { resourceSpans: unknown[] };
  const all = spansFromOtlpJson(doc).spans.map((s) => s.spanId);
  const line = JSON.stringify(doc);

  it('streams a pretty-printed document one resourceSpans element at a time, the same spans as reading it whole', async () => {
    const two = JSON.stringify({ resourceSpans: [...doc.resourceSpans, ...doc.resourceSpans] }, null, 2);
    const items = await read(two);
    expect(errors(items)).toEqual([]);
    expect(items).toHaveLength(2 * doc.resourceSpans.length);
    expect(spanIds(items)).toEqual([...all, ...all]);
  });

  it('JSON Lines whose first line is broken: reported by number, every other line read as it streams', async () => {
    const items = await read(`{"resourceSpans": [ {"broken"\n${line}\n\n${line}\nnot json\n${line}\n`);
    expect(errors(items)).toEqual([
      expect.stringMatching(/^line 1: invalid JSON/),
      expect.stringMatching(/^line 5: invalid JSON/),
    ]);
    expect(spanIds(items)).toEqual([...all, ...all, ...all]);
  });

  it('a document that breaks is reported once; the lines after the break are read as JSON Lines', async () => {
    const items = await read(`{\n  "resourceSpans": [\n  ]]\n${line}\n`);
    expect(errors(items)).toEqual([expect.stringMatching(/^lines 1-3: invalid JSON: unbalanced/)]);
    expect(spanIds(items)).toEqual(all);
    // A complete document followed by JSON Lines: both read.
    const both = await read(`${pretty.trimEnd()}\n${line}\n`);
    expect(errors(both)).toEqual([]);
    expect(spanIds(both)).toEqual([...all, ...all]);
  });

  it('a truncated document is reported; its complete elements are kept', async () => {
    const two = JSON.stringify({ resourceSpans: [...doc.resourceSpans, ...doc.resourceSpans] }, null, 2);
    const cut = two.slice(0, Math.floor(two.length * 0.75));
    const items = await read(cut);
    expect(errors(items)).toEqual([expect.stringMatching(/not complete \(truncated\?\)/)]);
    expect(spanIds(items).length).toBeGreaterThanOrEqual(all.length);
  });

  it('a document with no resourceSpans, or an empty one, still says so', async () => {
    expect(await read('{\n  "resourceSpans": []\n}\n')).toEqual([{ request: { resourceSpans: [] } }]);
    expect(await read('{\n  "foo": 1\n}\n')).toEqual([{ request: {} }]);
    expect(await read('garbage\n')).toEqual([{ error: expect.stringMatching(/^line 1: invalid JSON/) }]);
    expect(await read('\n  \n')).toEqual([{ error: 'empty input: no OTLP/JSON document' }]);
  });
});
