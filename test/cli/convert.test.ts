import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { fenraTransactionSchema } from '../../src/fenra/transaction-schema.js';
import { toJaegerExport } from '../span/jaeger-export.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'recorded');
const ROOT = join(import.meta.dirname, '..', '..');

function sink(): Writable & { text: () => string } {
  const chunks: string[] = [];
  const w = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  }) as Writable & { text: () => string };
  w.text = () => chunks.join('');
  return w;
}

async function run(argv: string[], stdinText?: string, env: Record<string, string> = {}) {
  const stdout = sink();
  const stderr = sink();
  const stdin = new PassThrough();
  stdin.end(stdinText ?? '');
  const code = await main(argv, { stdout, stderr, stdin, env });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

describe('fenra-otel convert', () => {
  it('prints one line per billed call with the exact wire body, price and span, and a summary', async () => {
    const r = await run(['convert', join(FIXTURES, 'vercel-ai6-openai-tools.otlp.json')]);
    expect(r.code).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, never>);
    expect(lines).toHaveLength(2);
    for (const l of lines) {
      expect(Object.keys(l)).toEqual(['transaction', 'price', 'span']);
      expect(fenraTransactionSchema().parse(l['transaction'])).toEqual(l['transaction']);
      expect(l['span']).toMatchObject({ name: 'ai.generateText.doGenerate' });
      expect(l['price']).toMatchObject({
        source: 'catalog',
        catalog: expect.stringMatching(/^genai-prices@/),
      });
    }
    expect(r.stderr).toMatch(
      /^spans=\d+ llm_calls=2 billed=2 unpriced=0 unattributed=0 skipped: .*aggregate=1.* estimated_usd=\d/m,
    );
  });

  it('reads JSON Lines from standard input, assembling traces across lines', async () => {
    const text = ['openai-chat', 'anthropic-sdk-tracing']
      .map((n) => JSON.stringify(JSON.parse(readFileSync(join(FIXTURES, `${n}.otlp.json`), 'utf8'))))
      .join('\n');
    const r = await run(['convert', '-'], text);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1 + 3);
  });

  it('applies the default customer and the attribute-key options', async () => {
    const f = join(FIXTURES, 'openai-chat.otlp.json');
    const byKey = await run(['convert', f, '--customer-id-key', 'nope.key', '--customer-id', 'fallback']);
    expect(JSON.parse(byKey.stdout).transaction.context.billable_customer_id).toBe('fallback');
    const byEnv = await run(['convert', f, '--customer-id-key', 'nope.key'], undefined, {
      FENRA_BILLABLE_CUSTOMER_ID: 'env-default',
    });
    expect(JSON.parse(byEnv.stdout).transaction.context.billable_customer_id).toBe('env-default');
    const none = await run(['convert', f, '--customer-id-key', 'nope.key']);
    expect(JSON.parse(none.stdout).transaction.context.billable_customer_id).toBe('unattributed');
    expect(none.stderr).toContain('unattributed=1');
  });

  it('exits non-zero with a clear message on unreadable input', async () => {
    const missing = await run(['convert', '/definitely/not/here.json']);
    expect(missing).toMatchObject({ code: 1, stdout: '' });
    expect(missing.stderr).toContain('cannot read /definitely/not/here.json: no such file');
    const garbage = await run(['convert', '-'], 'not json at all');
    expect(garbage.code).toBe(1);
    expect(garbage.stderr).toMatch(/^fenra-otel convert: standard input is not JSON \(Unexpected token/);
    const usage = await run(['convert']);
    expect(usage.code).toBe(2);
    expect((await run(['convert', 'a', '--azure-deployment', 'x'])).code).toBe(2);
  });

  it('a text file: one line saying it is not JSON and what was expected', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fenra-convert-'));
    const file = join(dir, 'notes.txt');
    writeFileSync(file, 'These are my notes.\nNot a trace at all.\n');
    const r = await run(['convert', file]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(
        `^fenra-otel convert: ${file.replace(/[.]/g, '\\.')} is not JSON \\(.+\\): expected OTLP/JSON traces \\(resourceSpans\\) or a Jaeger JSON export \\(data\\[\\]\\.spans\\)$`,
      ),
    );
  });

  it('reads a Jaeger JSON export (Jaeger UI "Download JSON") like the same trace in OTLP/JSON', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fenra-convert-'));
    const otlp = join(FIXTURES, 'anthropic-sdk-tracing.otlp.json');
    const jaeger = join(dir, 'trace.json');
    writeFileSync(jaeger, JSON.stringify(toJaegerExport(JSON.parse(readFileSync(otlp, 'utf8'))), null, 2));
    const fromOtlp = await run(['convert', otlp]);
    const fromJaeger = await run(['convert', jaeger]);
    expect(fromJaeger.code, fromJaeger.stderr).toBe(0);
    expect(fromOtlp.stdout.trim().split('\n').length).toBeGreaterThan(0);
    expect(fromJaeger.stdout).toBe(fromOtlp.stdout);
    expect(fromJaeger.stderr).toBe(fromOtlp.stderr);
  });

  it('reports a bad line of a JSON Lines file and converts the rest', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fenra-convert-'));
    const file = join(dir, 'traces.jsonl');
    const good = JSON.stringify(JSON.parse(readFileSync(join(FIXTURES, 'openai-chat.otlp.json'), 'utf8')));
    writeFileSync(file, `${good}\n{"resourceSpans": [\n`);
    const r = await run(['convert', file]);
    // The rest is converted; the exit status says part of the input was not.
    expect(r.code).toBe(1);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/line 2/);
    expect(r.stderr).toContain('input_problems=1');
    // A garbage FIRST line does not throw away the good lines after it.
    writeFileSync(file, `garbage\n${good}\n`);
    const first = await run(['convert', file]);
    expect(first.code).toBe(1);
    expect(first.stdout.trim().split('\n')).toHaveLength(1);
    expect(first.stderr).toMatch(/line 1: invalid JSON/);
  });

  it('exits 1 with one line for JSON that holds no trace data, or is not a trace request', async () => {
    const notOtlp = await run(['convert', '-'], '{"foo": 1}');
    expect(notOtlp.code).toBe(1);
    expect(notOtlp.stderr).toBe(
      'fenra-otel convert: standard input holds no trace data: expected OTLP/JSON traces (resourceSpans) or a Jaeger JSON export (data[].spans)\n',
    );
    const array = await run(['convert', '-'], '[1, 2, 3]');
    expect(array.code).toBe(1);
    expect(array.stderr.trim().split('\n')).toHaveLength(1);
    expect(array.stderr).toMatch(
      /holds no trace data: .*; request: expected an ExportTraceServiceRequest object/,
    );
    // A valid request with no spans is fine: nothing to bill.
    const empty = await run(['convert', '-'], '{"resourceSpans": []}');
    expect(empty.code).toBe(0);
    expect(empty.stderr).toContain('spans=0');
  });

  it('uses FENRA_CUSTOMER_ID_KEYS like the library does', async () => {
    const f = join(FIXTURES, 'openai-chat.otlp.json');
    const r = await run(['convert', f], undefined, { FENRA_CUSTOMER_ID_KEYS: 'nope.key, also.not' });
    expect(JSON.parse(r.stdout).transaction.context.billable_customer_id).toBe('unattributed');
    const flag = await run(['convert', f, '--customer-id-key', 'nope.key'], undefined, {
      FENRA_CUSTOMER_ID_KEYS: 'fenra.billable_customer_id',
    });
    expect(JSON.parse(flag.stdout).transaction.context.billable_customer_id).toBe('unattributed');
  });

  it('streams a large JSON Lines input in bounded memory and bills each call once', async () => {
    // 3,000 copies of a 2-call trace, each with new ids: more spans than one batch of the stream.
    const doc = JSON.parse(readFileSync(join(FIXTURES, 'vercel-ai6-openai-tools.otlp.json'), 'utf8')) as {
      resourceSpans: {
        scopeSpans: { spans: { traceId: string; spanId: string; parentSpanId?: string }[] }[];
      }[];
    };
    const lines: string[] = [];
    for (let i = 0; i < 3_000; i++) {
      const tid = (i + 1).toString(16).padStart(32, '0');
      const copy = structuredClone(doc);
      for (const rs of copy.resourceSpans)
        for (const ss of rs.scopeSpans)
          for (const s of ss.spans) {
            s.traceId = tid;
          }
      lines.push(JSON.stringify(copy));
    }
    // One line delivered twice (an exporter retry) is billed once.
    lines.push(lines[0]!);
    const r = await run(['convert', '-'], lines.join('\n'));
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(6_000);
    expect(r.stderr).toMatch(/billed=6000 /);
    expect(r.stderr).toMatch(/duplicate=\d+/);
  });

  it('works as `node <bin> convert FILE` from the repository root (built package)', async () => {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ['bin/fenra-otel.js', 'convert', join(FIXTURES, 'openai-chat.otlp.json')],
      { cwd: ROOT },
    );
    expect(JSON.parse(stdout).transaction).toMatchObject({ provider: 'openai', model: 'o4-mini-2025-04-16' });
    expect(stderr).toContain('billed=1');
  });
});
