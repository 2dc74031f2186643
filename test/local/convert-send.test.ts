import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { bar, fitProgressLine, progressReporter, progressText } from '../../src/cli/progress.js';
import { parseRecordLines } from '../../src/local/records.js';
import type { IngestServer } from '../helpers/ingest-server.js';
import { startIngestServer } from '../helpers/ingest-server.js';

const RECORDED = new URL('../fixtures/recorded/', import.meta.url);

let dir: string;
let server: IngestServer | undefined;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fenra-send-'));
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** Every recorded trace as one JSON Lines file (the Collector file exporter's shape). */
function allRecorded(): string {
  const file = join(dir, 'traces.jsonl');
  const lines = readdirSync(RECORDED)
    .filter((f) => f.endsWith('.otlp.json'))
    .sort()
    .map((f) => JSON.stringify(JSON.parse(readFileSync(new URL(f, RECORDED), 'utf8'))));
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

async function run(argv: string[], env: Record<string, string>, tty = false, stdin?: NodeJS.ReadableStream) {
  const stdout = new PassThrough();
  const stderr = tty ? Object.assign(new PassThrough(), { isTTY: true, columns: 200 }) : new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await main(argv, { stdout, stderr, env, ...(stdin ? { stdin } : {}) });
  return { code, out, err };
}

async function converted(file: string): Promise<{ transaction: { context: { span_id?: unknown } } }[]> {
  const r = await run(['convert', file], {});
  expect(r.code).toBe(0);
  return r.out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { transaction: { context: { span_id?: unknown } } });
}

describe('fenra-otel convert --send', () => {
  it('back-fills Fenra with every converted transaction, with plain progress lines off a terminal', async () => {
    server = await startIngestServer({ apiKey: 'k-backfill' });
    const file = allRecorded();
    const expected = await converted(file);
    expect(expected.length).toBeGreaterThan(20);
    const r = await run(['convert', file, '--send'], {
      FENRA_API_KEY: 'k-backfill',
      FENRA_ENDPOINT: server.url,
    });
    expect(r.code).toBe(0);
    expect(r.out).toBe('');
    expect(server.accepted.map((a) => a.transaction.context.span_id).sort()).toEqual(
      expected.map((e) => e.transaction.context.span_id).sort(),
    );
    expect(r.err).toContain('sending the transactions to Fenra as they are converted');
    expect(r.err).toMatch(
      new RegExp(
        `convert --send: spans read \\d+ · transactions sent ${expected.length}/${expected.length} · `,
      ),
    );
    // The summary comes once everything has been read and sent.
    expect(r.err).toMatch(new RegExp(`billed=${expected.length} `));
    expect(r.err).not.toContain('\r');
    expect(r.err).toContain(
      `${expected.length} of ${expected.length} transaction(s) accepted by ${server.url}`,
    );
  });

  it('streams: sends while the input is still being read, holding at most --hold-spans spans', async () => {
    server = await startIngestServer({ apiKey: 'k-stream' });
    // One recorded trace per line, each with a new trace id.
    const doc = readFileSync(new URL('openai-chat.otlp.json', RECORDED), 'utf8');
    const one = JSON.stringify(JSON.parse(doc));
    const traceId = /"traceId":"([0-9a-f]{32})"/.exec(one)![1]!;
    const line = (i: number): string => one.replaceAll(traceId, i.toString(16).padStart(32, '0')) + '\n';
    const stdin = new PassThrough();
    const done = run(
      ['convert', '-', '--send', '--hold-spans', '200'],
      {
        FENRA_API_KEY: 'k-stream',
        FENRA_ENDPOINT: server.url,
      },
      false,
      stdin,
    );
    // The first half, then wait until Fenra has received some: the input is not finished yet.
    for (let i = 1; i <= 1_000; i++) stdin.write(line(i));
    const deadline = Date.now() + 20_000;
    while (server.accepted.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(server.accepted.length).toBeGreaterThan(0);
    for (let i = 1_001; i <= 2_000; i++) stdin.write(line(i));
    stdin.end();
    const r = await done;
    expect(r.code).toBe(0);
    expect(new Set(server.accepted.map((a) => a.transaction.context.trace_id)).size).toBe(2_000);
    expect(r.err).toContain('2000 of 2000 transaction(s) accepted');
  });

  it('an unreadable file is said before anything is sent', async () => {
    const r = await run(['convert', join(dir, 'missing.jsonl'), '--send'], { FENRA_API_KEY: 'k' });
    expect(r.code).toBe(1);
    expect(r.err).toContain('no such file');
    expect(r.err).not.toContain('sending');
  });

  it('stops and says so when Fenra refuses the key', async () => {
    server = await startIngestServer({ apiKey: 'the-right-key' });
    const file = allRecorded();
    const r = await run(['convert', file, '--send'], { FENRA_API_KEY: 'wrong', FENRA_ENDPOINT: server.url });
    expect(r.code).toBe(1);
    expect(r.err).toContain('stopped: Fenra refused the API key (401)');
    expect(server.accepted).toEqual([]);
  });

  it('a malformed FENRA_ENDPOINT is a usage error (exit 2), before anything is read or sent', async () => {
    const file = allRecorded();
    const data = join(dir, 'data');
    const r = await run(['convert', file, '--send', '--data-dir', data], {
      FENRA_API_KEY: 'k',
      FENRA_ENDPOINT: 'htps//x',
    });
    expect(r.code).toBe(2);
    expect(r.err).toContain('fenra-otel convert: FENRA_ENDPOINT value "htps//x" is not valid');
    expect(r.err).not.toContain('sending');
    expect(r.out).toBe('');
    // A dry run sends nothing, so the endpoint does not matter to it.
    expect((await run(['convert', file], { FENRA_ENDPOINT: 'htps//x' })).code).toBe(0);
  });

  it('writes to the local sink when there is no API key', async () => {
    const file = allRecorded();
    const expected = await converted(file);
    const data = join(dir, 'data');
    const r = await run(['convert', file, '--send', '--data-dir', data], {});
    expect(r.code).toBe(0);
    expect(r.err).toContain('LOCAL MODE');
    const records = parseRecordLines(readFileSync(join(data, 'transactions.jsonl'), 'utf8')).records;
    expect(records.map((x) => x.transaction.context.span_id)).toEqual(
      expected.map((e) => e.transaction.context.span_id),
    );
    // And report reads them back.
    const rep = await run(['report', '--data-dir', data], {});
    expect(rep.code).toBe(0);
    expect(rep.out).toMatch(new RegExp(`TOTAL\\s+${expected.length}\\s`));
  });
});

describe('progress', () => {
  const p = { total: 200, sent: 50, failed: 0, dropped: 0, elapsedMs: 5_000 };

  it('while the input is read: the share read, a growing total, and the ETA from the share', () => {
    const reading = { ...p, total: 60, sent: 50, reading: true, spansRead: 900, inputFraction: 0.25 };
    expect(progressText(reading)).toBe('spans read 900 (25%) · transactions sent 50/60+ · 10/s · ETA 15s');
    expect(fitProgressLine(reading, 0, 120)).toMatch(/^\[#{6}\.{18}\] {2}25% spans read 900 \(25%\)/);
    // Standard input: no size, no share, no ETA yet.
    expect(progressText({ ...reading, inputFraction: undefined })).toBe(
      'spans read 900 · transactions sent 50/60+ · 10/s · ETA ?',
    );
  });

  it('shows spans read, sent of total, rate and ETA', () => {
    expect(progressText(p, 900)).toBe('spans read 900 · transactions sent 50/200 · 10/s · ETA 15s');
    expect(progressText({ ...p, sent: 190, failed: 10 }, 900)).toBe(
      'spans read 900 · transactions sent 190/200 · failed 10 · 40/s · took 5s',
    );
    expect(bar(0.5, 10)).toBe('[#####.....]  50%');
  });

  it('redraws one line on a terminal and finishes it with a newline', () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (c: Buffer) => (text += c.toString()));
    let t = 0;
    const r = progressReporter(out, 10, { tty: true, intervalMs: 100, now: () => t, columns: 120 });
    r.update(p);
    t = 50;
    r.update({ ...p, sent: 60 }); // within the interval: not drawn
    t = 200;
    r.update({ ...p, sent: 100 });
    r.done({ ...p, sent: 200 });
    const frames = text.split('\r\x1b[2K').filter(Boolean);
    expect(frames).toHaveLength(3);
    expect(frames[1]).toMatch(/^\[#{12}\.{12}\] {2}50% spans read 10 · transactions sent 100\/200/);
    expect(frames[2]!.endsWith('\n')).toBe(true);
    expect(text.split('\n')).toHaveLength(2);
  });

  it('fits the terminal line to its width, so that redraws never wrap', () => {
    const busy = { total: 1_250_000, sent: 412_345, failed: 1_234, dropped: 56, elapsedMs: 61_000 };
    const spans = 9_876_543;
    for (const columns of [200, 120, 100, 80, 60, 40, 20]) {
      const line = fitProgressLine(busy, spans, columns);
      expect(line.length, `${columns} columns: ${line}`).toBeLessThan(columns);
    }
    // Wide: the full text. 80 columns: the same numbers, shorter.
    expect(fitProgressLine(busy, spans, 200)).toBe(
      `${bar(413_635 / 1_250_000)} ${progressText(busy, spans)}`,
    );
    expect(fitProgressLine(busy, spans, 110)).toBe(
      '[###.......]  33% sent 412345/1250000 · failed 1234 · dropped 56 · 6781/s · ETA 2m04s · spans 9876543',
    );
    expect(fitProgressLine(busy, spans, 80)).toBe(
      ' 33% sent 412345/1250000 · failed 1234 · dropped 56 · 6781/s · ETA 2m04s',
    );
    // A quiet run at 80 columns keeps the bar and the full labels.
    const quiet = { total: 200, sent: 50, failed: 0, dropped: 0, elapsedMs: 5_000 };
    expect(fitProgressLine(quiet, 900, 80)).toBe(
      '[###.......]  25% spans read 900 · transactions sent 50/200 · 10/s · ETA 15s',
    );
  });

  it('reads the width of the stream it draws on', () => {
    const out = Object.assign(new PassThrough(), { columns: 60 });
    let text = '';
    out.on('data', (c: Buffer) => (text += c.toString()));
    progressReporter(out, 10, { tty: true }).done({
      total: 200,
      sent: 200,
      failed: 3,
      dropped: 0,
      elapsedMs: 5_000,
    });
    const frame = text.replace('\r\x1b[2K', '').replace(/\n$/, '');
    expect(frame.length).toBeLessThan(60);
    expect(frame).toContain('sent 200/200');
  });
});

describe('fenra-otel convert --send when Fenra cannot be reached', () => {
  it('progress says why nothing is delivered, and the end says what was not and why', async () => {
    const { createServer } = await import('node:net');
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const { port } = s.address() as { port: number };
    await new Promise((r) => s.close(r));
    const file = join(dir, 'one.jsonl');
    writeFileSync(
      file,
      JSON.stringify(JSON.parse(readFileSync(new URL('openai-chat.otlp.json', RECORDED), 'utf8'))) + '\n',
    );
    const r = await run(['convert', file, '--send'], {
      FENRA_API_KEY: 'k',
      FENRA_ENDPOINT: `http://127.0.0.1:${port}/usage/transactions`,
      // A short retry budget: the run gives up after it.
      FENRA_EXPORT_TIMEOUT_MILLIS: '1500',
    });
    expect(r.code).toBe(1);
    const why = `connection refused by 127.0.0.1:${port}: nothing listens there (ECONNREFUSED)`;
    // Said once, while it waits, on its own line...
    expect(r.err).toContain(`convert --send: waiting: ${why}; retrying\n`);
    expect(r.err.split('waiting:').length - 1).toBe(1);
    // ... and at the end, with the count.
    expect(r.err).toContain(
      `fenra-otel convert: 0 of 1 transaction(s) accepted by http://127.0.0.1:${port}/usage/transactions, 1 not delivered: ${why}\n`,
    );
  });
});
