import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { deflateSync } from 'node:zlib';
import { diag } from '@opentelemetry/api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Forwarder } from '../../src/sidecar/forwarder.js';
import { jsonDiagLogger } from '../../src/sidecar/json-logger.js';
import { Metrics } from '../../src/sidecar/metrics.js';
import { BodyError, readBody } from '../../src/sidecar/read-body.js';
import type { MetricName } from '../../src/internal/self-metrics.js';
import { prometheusName, SELF_METRICS } from '../../src/internal/self-metrics.js';
import { DiskSpool } from '../../src/sidecar/disk-spool.js';
import { RESERVE_FRACTION, serialiseSpans, SpoolFullError } from '../../src/sidecar/spool.js';
import { makeSpan } from '../helpers/span.js';
import { until } from './spawn-sidecar.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('Metrics', () => {
  it('renders the vocabulary as Prometheus text, with escaped label values', () => {
    const m = new Metrics();
    m.add('fenra.otel.forward.requests', 2, { outcome: 'a"b\\c' });
    m.observe(() => [{ name: 'fenra.otel.queue.depth', value: 7 }]);
    const text = m.render();
    expect(text).toContain(
      '# HELP fenra_otel_forward_requests_total Pass-through requests by outcome\n# TYPE fenra_otel_forward_requests_total counter\nfenra_otel_forward_requests_total{outcome="a\\"b\\\\c"} 2\n',
    );
    expect(text).toContain('# TYPE fenra_otel_queue_depth gauge\nfenra_otel_queue_depth 7\n');
    // Counters nobody counted yet are shown at 0; gauges nobody reads are left out.
    expect(text).toContain('\nfenra_otel_receiver_spans_rejected_total 0\n');
    expect(text).not.toContain('fenra_otel_spool_bytes');
    expect(m.value('fenra.otel.queue.depth')).toBe(7);
  });

  it('names every metric once, in one table: units as suffixes, counters ending in _total', () => {
    expect(prometheusName('fenra.otel.export.bytes')).toBe('fenra_otel_export_bytes_total');
    expect(prometheusName('fenra.otel.cost.estimated')).toBe('fenra_otel_cost_estimated_usd_total');
    expect(prometheusName('fenra.otel.spool.bytes')).toBe('fenra_otel_spool_bytes');
    expect(prometheusName('fenra.otel.queue.depth')).toBe('fenra_otel_queue_depth');
    const names = (Object.keys(SELF_METRICS) as MetricName[]).map(prometheusName);
    expect(new Set(names).size).toBe(names.length);
  });

  it('folds label sets past the bound into "other"', () => {
    const m = new Metrics(3);
    for (let i = 0; i < 10; i++) m.add('fenra.otel.forward.requests', 1, { outcome: `c${i}` });
    const lines = m
      .render()
      .split('\n')
      .filter((l) => l.startsWith('fenra_otel_forward_requests_total{'));
    expect(lines).toEqual([
      'fenra_otel_forward_requests_total{outcome="c0"} 1',
      'fenra_otel_forward_requests_total{outcome="c1"} 1',
      'fenra_otel_forward_requests_total{outcome="c2"} 1',
      'fenra_otel_forward_requests_total{outcome="other"} 7',
    ]);
  });
});

describe('jsonDiagLogger', () => {
  it('writes one JSON object per line with the component logger namespace', () => {
    let text = '';
    const out = new Writable({
      write(c: Buffer, _e, cb) {
        text += c.toString();
        cb();
      },
    });
    diag.setLogger(
      jsonDiagLogger(out, () => new Date(0)),
      { suppressOverrideMessage: true },
    );
    try {
      diag.createComponentLogger({ namespace: '@fenra/otel/x' }).warn('hello', 3);
    } finally {
      diag.disable();
    }
    expect(JSON.parse(text)).toEqual({
      time: '1970-01-01T00:00:00.000Z',
      level: 'warn',
      component: '@fenra/otel/x',
      msg: 'hello',
      args: [3],
    });
  });
});

describe('readBody', () => {
  async function withServer(
    limits: { maxBodyBytes: number; maxDecompressedBytes: number },
    send: (port: number) => Promise<void>,
  ): Promise<{ status: number; body?: Buffer }> {
    let result: { status: number; body?: Buffer } | undefined;
    const server = createServer((req: IncomingMessage, res) => {
      readBody(req, limits).then(
        (r) => {
          result = { status: 200, body: r.body };
          res.end();
        },
        (e: unknown) => {
          result = { status: e instanceof BodyError ? e.status : 500 };
          req.resume();
          res.end();
        },
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      await send((server.address() as AddressInfo).port);
      await until(() => result !== undefined, 'the body to be read');
      return result!;
    } finally {
      server.close();
    }
  }

  const chunked = (port: number, chunks: Buffer[], headers: Record<string, string> = {}): Promise<void> =>
    new Promise((resolve) => {
      const req = request({ port, host: '127.0.0.1', method: 'POST', headers }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', () => resolve());
      for (const c of chunks) req.write(c);
      req.end();
    });

  it('counts chunked bodies (no Content-Length) against the limit', async () => {
    const r = await withServer({ maxBodyBytes: 1000, maxDecompressedBytes: 10_000 }, (port) =>
      chunked(port, [Buffer.alloc(600), Buffer.alloc(600)]),
    );
    expect(r.status).toBe(413);
  });

  it('a client that goes away mid-body is a 400, not an internal error', async () => {
    const r = await withServer(
      { maxBodyBytes: 1000, maxDecompressedBytes: 10_000 },
      (port) =>
        new Promise<void>((resolve) => {
          const req = request({ port, host: '127.0.0.1', method: 'POST' });
          req.on('error', () => resolve());
          req.write(Buffer.alloc(100));
          setTimeout(() => {
            req.destroy();
            resolve();
          }, 50);
        }),
    );
    expect(r.status).toBe(400);
  });

  it('inflates deflate bodies', async () => {
    const r = await withServer({ maxBodyBytes: 1000, maxDecompressedBytes: 10_000 }, (port) =>
      chunked(port, [deflateSync(Buffer.from('hello hello hello'))], { 'content-encoding': 'deflate' }),
    );
    expect(r.status).toBe(200);
    expect(r.body!.toString()).toBe('hello hello hello');
  });
});

describe('DiskSpool', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'fenra-diskspool-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true, maxRetries: 5 }));

  it('round-trips spans, byte attributes included, and discards torn records on load', async () => {
    const first = new DiskSpool(dir, 1e9);
    first.load();
    const span = makeSpan({ 'a.bytes': new Uint8Array([0, 255]), 'a.list': ['x', 1] });
    const id = await first.append([span]);
    writeFileSync(join(dir, 'rec-000000000099.json'), '[{"traceId": "trunc');
    const second = new DiskSpool(dir, 1e9);
    const contents = second.load();
    expect(contents.discarded).toBe(1);
    expect(contents.records.map((r) => r.id)).toEqual([id]);
    expect(contents.records[0]!.spans).toEqual([span]);
    expect(readdirSync(dir).filter((f) => f.startsWith('rec-'))).toHaveLength(1);
    // New records never reuse an id that was on disk.
    expect(await second.append([span])).toBeGreaterThan(99);
  });

  it('keeps ack entries only while one of their records exists', async () => {
    const s = new DiskSpool(dir, 1e9);
    s.load();
    const a = await s.append([makeSpan({})]);
    const b = await s.append([makeSpan({})]);
    await s.ack(['t1:s1'], [a]);
    await s.ack(['t2:s2'], [b]);
    s.release(a);
    await s.settle();
    const contents = new DiskSpool(dir, 1e9).load();
    expect([...contents.acked]).toEqual(['t2:s2']);
    expect(readFileSync(join(dir, 'acks.log'), 'utf8')).toBe(`${b} t2:s2\n`);
  });

  it('refuses a spool held by another live process, takes over a stale lock', () => {
    writeFileSync(join(dir, 'lock.pid'), `${process.ppid}\n`);
    expect(() => new DiskSpool(dir, 1e9).load()).toThrow(/in use by process/);
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    writeFileSync(join(dir, 'lock.pid'), `${dead}\n`);
    const s = new DiskSpool(dir, 1e9);
    s.load();
    expect(readFileSync(join(dir, 'lock.pid'), 'utf8').trim()).toBe(`${process.pid}`);
    s.unlock();
    // The lock file stays (rewritten in place: a restart on a full disk needs no new block), holding no pid.
    expect(readFileSync(join(dir, 'lock.pid'), 'utf8').trim()).toBe('0');
    const again = new DiskSpool(dir, 1e9);
    again.load();
    expect(readFileSync(join(dir, 'lock.pid'), 'utf8').trim()).toBe(`${process.pid}`);
  });

  it('reports no room past its size bound', async () => {
    const size = Buffer.byteLength(serialiseSpans([makeSpan({})]));
    const s = new DiskSpool(dir, Math.ceil(size / (1 - RESERVE_FRACTION)));
    s.load();
    expect(s.hasRoom()).toBe(true);
    await s.append([makeSpan({})]);
    expect(s.hasRoom()).toBe(false);
  });

  it('reserves room before writing: concurrent appends never pass the bound; the reserve is for priority records', async () => {
    const span = makeSpan({});
    const size = Buffer.byteLength(serialiseSpans([span]));
    const s = new DiskSpool(dir, 10 * size);
    s.load();
    const results = await Promise.allSettled(Array.from({ length: 12 }, () => s.append([span])));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(9);
    for (const r of results.filter((r) => r.status === 'rejected'))
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(SpoolFullError);
    expect(s.bytes()).toBe(9 * size);
    expect(s.hasRoom()).toBe(false);
    expect(s.hasRoom(true)).toBe(true);
    await s.append([span], true);
    await expect(s.append([span], true)).rejects.toBeInstanceOf(SpoolFullError);
    expect(s.bytes()).toBe(10 * size);
    expect(readdirSync(dir).filter((f) => f.startsWith('rec-'))).toHaveLength(10);
  });

  it('a write that fails (file size limit) leaves no partial record and gives its room back', () => {
    const script = `
      import { readdirSync } from 'node:fs';
      import { DiskSpool } from './src/sidecar/disk-spool.ts';
      const s = new DiskSpool(${JSON.stringify(dir)}, 1e9);
      s.load();
      let error = '';
      try { await s.append([${JSON.stringify(makeSpan({ big: 'x'.repeat(8000) }))}]); } catch (e) { error = e.code; }
      const problem = s.problem() ?? '';
      console.log(JSON.stringify({ error, problem, bytes: s.bytes(), files: readdirSync(${JSON.stringify(dir)}) }));`;
    const r = spawnSync(
      'bash',
      ['-c', 'ulimit -f 4; exec "$0" --import tsx --input-type=module -e "$1"', process.execPath, script],
      {
        cwd: ROOT,
        encoding: 'utf8',
      },
    );
    const out = JSON.parse(r.stdout) as { error: string; problem: string; bytes: number; files: string[] };
    expect(out.error).toBe('EFBIG');
    expect(out.problem).toMatch(/cannot be written \(EFBIG while writing a record\)/);
    expect(out.bytes).toBe(0);
    expect(out.files.filter((f) => f.startsWith('rec-'))).toEqual([]);
  });

  it('counts the ack log, drops it once no record is left, and compacts it past its size', async () => {
    const s = new DiskSpool(dir, 1e9);
    s.load();
    const a = await s.append([makeSpan({})]);
    const b = await s.append([makeSpan({})]);
    const records = s.bytes();
    await s.ack(['t1:s1'], [a, b]);
    const ackSize = `${a},${b} t1:s1\n`.length;
    expect(s.bytes()).toBe(records + ackSize);
    s.release(a);
    s.release(b);
    await s.settle();
    expect(readdirSync(dir)).not.toContain('acks.log');
    expect(s.bytes()).toBe(0);

    // Past 1 MiB, entries whose records are gone are dropped while running.
    const c = await s.append([makeSpan({})]);
    const d = await s.append([makeSpan({})]);
    const keys = Array.from({ length: 30_000 }, (_, i) => `${'f'.repeat(32)}:${String(i).padStart(16, '0')}`);
    await s.ack(keys, [d]);
    expect(statSync(join(dir, 'acks.log')).size).toBeGreaterThan(1024 * 1024);
    s.release(d);
    await s.ack(['t2:s2'], [c]);
    await s.settle();
    expect(readFileSync(join(dir, 'acks.log'), 'utf8')).toBe(`${c} t2:s2\n`);
    expect(s.bytes()).toBe(
      statSync(join(dir, `rec-${String(c).padStart(12, '0')}.json`)).size + `${c} t2:s2\n`.length,
    );
  });

  it('on close keeps only live ack entries, or none, and gives the directory up', async () => {
    const s = new DiskSpool(dir, 1e9);
    s.load();
    const a = await s.append([makeSpan({})]);
    const b = await s.append([makeSpan({})]);
    await s.ack(['t1:s1'], [a]);
    await s.ack(['t2:s2'], [b]);
    s.release(a);
    await s.close();
    const spoolFiles = (): string[] =>
      readdirSync(dir)
        .filter((f) => f !== 'lock.pid' && f !== 'reserve.bin')
        .sort();
    expect(spoolFiles()).toEqual(['acks.log', `rec-${String(b).padStart(12, '0')}.json`]);
    expect(readFileSync(join(dir, 'acks.log'), 'utf8')).toBe(`${b} t2:s2\n`);

    const again = new DiskSpool(dir, 1e9);
    expect([...again.load().acked]).toEqual(['t2:s2']);
    again.release(b);
    await again.close();
    expect(spoolFiles()).toEqual([]);
  });
});

describe('Forwarder', () => {
  it('retries a 503 (honouring Retry-After) and then delivers the same bytes', async () => {
    const seen: Buffer[] = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push(Buffer.concat(chunks));
        if (seen.length === 1) res.writeHead(503, { 'retry-after': '0' }).end();
        else res.writeHead(200).end('{}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const m = new Metrics();
    const f = new Forwarder(
      {
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`,
        timeoutMillis: 10_000,
        maxPendingBytes: 1e6,
        concurrency: 1,
      },
      m,
    );
    f.forward(Buffer.from('payload'), 'application/x-protobuf', undefined);
    await until(
      () => m.value('fenra.otel.forward.requests', { outcome: 'ok' }) === 1,
      'the forward to succeed',
    );
    await f.shutdown(1000);
    server.close();
    expect(seen.map((b) => b.toString())).toEqual(['payload', 'payload']);
  });

  it('drops and counts bodies past its pending-bytes bound', () => {
    const m = new Metrics();
    const f = new Forwarder(
      { url: 'http://127.0.0.1:9/v1/traces', timeoutMillis: 100, maxPendingBytes: 10, concurrency: 1 },
      m,
    );
    f.forward(Buffer.alloc(20), 'application/json', undefined);
    expect(m.value('fenra.otel.forward.requests', { outcome: 'dropped_queue_full' })).toBe(1);
    return f.shutdown(0);
  });
});
