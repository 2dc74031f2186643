/**
 * `fenra-otel convert` on a 600 MB JSON Lines file whose first line is not JSON (a partial
 * write, a header): it used to fall back to reading the whole file as one document ("Invalid
 * string length", nothing converted). The file is written at test time in a temporary
 * directory (about 9,600 lines of the recorded OpenAI trace, each with new ids and a 60 KB
 * attribute billing does not read) and removed after. Every line but the first is converted,
 * the broken one is reported, and the process's memory stays bounded.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { report } from './summary.js';
import { rssMb } from './traffic.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURE = join(ROOT, 'test/fixtures/recorded/openai-chat.otlp.json');
const TARGET_BYTES = 600 * 1024 * 1024;
/** What the README states for convert: memory does not grow with the input. */
const RSS_BOUND_MB = 300;
const dir = mkdtempSync(join(tmpdir(), 'fenra-convert-large-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes the file; returns its line count (the first, broken, one included) and calls per line. */
function writeInput(file: string): { lines: number } {
  const doc = JSON.parse(readFileSync(FIXTURE, 'utf8')) as {
    resourceSpans: { scopeSpans: { spans: { traceId: string; attributes: unknown[] }[] }[] }[];
  };
  // A big attribute billing does not read (an app's own, on every span of the trace).
  for (const rs of doc.resourceSpans)
    for (const ss of rs.scopeSpans)
      for (const s of ss.spans)
        s.attributes.push({ key: 'app.payload', value: { stringValue: 'x'.repeat(60_000) } });
  const line = JSON.stringify(doc);
  const traceIds = [
    ...new Set(
      doc.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => s.traceId))),
    ),
  ];
  const fd = openSync(file, 'w');
  let written = 0;
  let lines = 1;
  try {
    written += writeSync(fd, 'garbage: the first line of this file is not JSON {\n');
    for (let n = 1; written < TARGET_BYTES; n++) {
      let text = line;
      for (const id of traceIds) text = text.replaceAll(id, n.toString(16).padStart(8, '0') + id.slice(8));
      written += writeSync(fd, text + '\n');
      lines++;
    }
  } finally {
    closeSync(fd);
  }
  return { lines };
}

describe('fenra-otel convert on a 600 MB JSON Lines file with a broken first line', () => {
  it('converts every other line as it streams, in bounded memory, and reports the broken one', async () => {
    const file = join(dir, 'traces.jsonl');
    const { lines } = writeInput(file);
    const size = statSync(file).size;
    const started = Date.now();
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        "import { main } from './src/cli/main.ts'; process.exitCode = await main(process.argv.slice(1));",
        'convert',
        file,
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = 0;
    let stderr = '';
    child.stdout!.on('data', (c: Buffer) => {
      for (const b of c) if (b === 0x0a) out++;
    });
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    let maxRss = 0;
    const sample = setInterval(() => (maxRss = Math.max(maxRss, rssMb(child.pid as number))), 100);
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    clearInterval(sample);
    rmSync(file, { force: true });

    // The recorded trace bills one call: one transaction per line but the broken first one.
    expect(stderr).toMatch(/line 1: invalid JSON/);
    expect(stderr).not.toMatch(/Invalid string length/);
    expect(out).toBe(lines - 1);
    expect(code).toBe(1); // part of the input could not be read, the rest was converted
    expect(maxRss).toBeLessThan(RSS_BOUND_MB);
    report({
      scenario: 'convert: 600 MB JSON Lines, first line broken',
      acknowledged: lines - 1,
      delivered: out,
      counted: 0,
      duplicates: 0,
      possibleDuplicates: 0,
      maxRssMb: maxRss,
      note: `${(size / 1024 / 1024).toFixed(0)} MiB, ${lines} lines, converted in ${((Date.now() - started) / 1000).toFixed(1)} s; "delivered" = transactions printed; bound ${RSS_BOUND_MB} MiB`,
    });
  });
});
