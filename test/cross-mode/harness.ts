/**
 * Every entry point, side by side, fed the same deliveries: the processor on a real
 * NodeTracerProvider, the exporter under a real BatchSpanProcessor, `serve` over OTLP/JSON and
 * over OTLP/protobuf (real HTTP on loopback), over OTLP/gRPC, and `convert` (a JSON Lines file, one line per
 * delivery). Time never moves (a manual clock), so what each mode bills depends only on the
 * spans and how they were delivered — which is the claim under test.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Context, Span } from '@opentelemetry/api';
import { ROOT_CONTEXT, TraceFlags, trace } from '@opentelemetry/api';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { runConvert } from '../../src/cli/convert.js';
import type { FenraTransaction } from '../../src/fenra/transaction-schema.js';
import { FenraSpanExporter } from '../../src/otel/span-exporter.js';
import { FenraSpanProcessor } from '../../src/otel/span-processor.js';
import { resolveServeConfig } from '../../src/config/serve.js';
import type { RunningSidecar } from '../../src/sidecar/sidecar.js';
import { startSidecar } from '../../src/sidecar/sidecar.js';
import type { SpanView } from '../../src/span/span-view.js';
import type { IngestServer } from '../helpers/ingest-server.js';
import { startIngestServer } from '../helpers/ingest-server.js';
import { ManualScheduler } from '../helpers/manual-scheduler.js';
import { QueueIdGenerator } from '../otel/replay.js';
import { RawOtlpClient } from '../sidecar/grpc-client.js';

/** Spans to play (any traces), and how they are delivered: batches in end order, each span once. */
export interface Scenario {
  name: string;
  spans: readonly SpanView[];
  /** Spans end batch by batch; each batch is one export, one request, one JSON line. */
  batches: readonly (readonly SpanView[])[];
}

export const MODES = [
  'processor',
  'exporter',
  'serve-json',
  'serve-protobuf',
  'serve-grpc',
  'convert',
] as const;
export type Mode = (typeof MODES)[number];

export const RESOURCE = { 'service.name': 'cross-mode', 'deployment.environment.name': 'test' };

/** Keeps the spans each batch ended, in end order. */
class Capture implements SpanProcessor {
  private _spans: ReadableSpan[] = [];
  onStart(): void {}
  onEnd(span: ReadableSpan): void {
    this._spans.push(span);
  }
  take(): ReadableSpan[] {
    const out = this._spans;
    this._spans = [];
    return out;
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

const API_KEY = 'test-key';

interface Parts {
  ingest: Record<Exclude<Mode, 'convert'>, IngestServer>;
  processor: FenraSpanProcessor;
  exporter: FenraSpanExporter;
  bsp: BatchSpanProcessor;
  sidecars: { json: RunningSidecar; protobuf: RunningSidecar; grpc: RunningSidecar };
  grpcClient: RawOtlpClient;
}

export class CrossModeHarness {
  private readonly _ids = new QueueIdGenerator();
  private readonly _capture = new Capture();
  private readonly _lines: string[] = [];
  private readonly _dir = mkdtempSync(join(tmpdir(), 'fenra-cross-'));
  private readonly _p: Parts;
  /** Spans are made by a real provider; its resource is what every mode reads. */
  private readonly _provider: NodeTracerProvider;

  private constructor(parts: Parts) {
    this._p = parts;
    this._provider = new NodeTracerProvider({
      resource: resourceFromAttributes(RESOURCE),
      idGenerator: this._ids,
      spanProcessors: [parts.processor, parts.bsp, this._capture],
    });
  }

  static async start(): Promise<CrossModeHarness> {
    const ingest = {
      processor: await startIngestServer({ apiKey: API_KEY }),
      exporter: await startIngestServer({ apiKey: API_KEY }),
      'serve-json': await startIngestServer({ apiKey: API_KEY }),
      'serve-protobuf': await startIngestServer({ apiKey: API_KEY }),
      'serve-grpc': await startIngestServer({ apiKey: API_KEY }),
    };
    const frozen = new ManualScheduler();
    const processor = new FenraSpanProcessor(
      { apiKey: API_KEY, endpoint: ingest.processor.url },
      { scheduler: frozen },
    );
    const exporter = new FenraSpanExporter(
      { apiKey: API_KEY, endpoint: ingest.exporter.url },
      { scheduler: frozen },
    );
    const bsp = new BatchSpanProcessor(exporter, {
      scheduledDelayMillis: 3_600_000,
      maxExportBatchSize: 100_000,
      maxQueueSize: 100_000,
    });
    const sidecar = async (i: IngestServer, grpc = false): Promise<RunningSidecar> => {
      const { config, problems } = resolveServeConfig({
        flags: { port: '0', 'grpc-port': grpc ? 'auto' : '0', endpoint: i.url, 'drain-ms': '0' },
        env: { FENRA_API_KEY: API_KEY },
      });
      if (problems.length > 0) throw new Error(problems.join('; '));
      return startSidecar(config, { scheduler: new ManualScheduler() });
    };
    const sidecars = {
      json: await sidecar(ingest['serve-json']),
      protobuf: await sidecar(ingest['serve-protobuf']),
      grpc: await sidecar(ingest['serve-grpc'], true),
    };
    const grpcClient = new RawOtlpClient(`127.0.0.1:${sidecars.grpc.grpcAddress!.port}`);
    return new CrossModeHarness({ ingest, processor, exporter, bsp, sidecars, grpcClient });
  }

  /** Starts the scenario's spans (parents first, recorded ids), then ends them batch by batch. */
  async play(s: Scenario): Promise<void> {
    const live = this._start(s.spans);
    for (const batch of s.batches) {
      for (const view of batch) {
        const span = live.get(view.spanId);
        if (span === undefined) throw new Error(`${s.name}: span ${view.spanId} was not started`);
        span.end(view.endTimeMs);
      }
      // One delivery in every mode: the processor hands what ended to its stage now...
      this._p.processor.stats();
      // ...the BatchSpanProcessor exports the batch to FenraSpanExporter...
      await this._p.bsp.forceFlush();
      const ended = this._capture.take();
      // ...and the sidecars and `convert` get the same spans as one OTLP request.
      await this._post(this._p.sidecars.json, ended, 'json');
      await this._post(this._p.sidecars.protobuf, ended, 'protobuf');
      const reply = await this._p.grpcClient.export(ProtobufTraceSerializer.serializeRequest(ended)!);
      if (reply.code !== 0) throw new Error(`serve-grpc answered ${reply.code}: ${reply.details}`);
      this._lines.push(Buffer.from(JsonTraceSerializer.serializeRequest(ended)!).toString('utf8'));
    }
  }

  /** Flushes every mode (what waits for a root is billed now) and returns what each delivered. */
  async finish(): Promise<Record<Mode, FenraTransaction[]>> {
    await this._p.processor.forceFlush();
    await this._p.exporter.forceFlush();
    await this._p.sidecars.json.shutdown();
    await this._p.sidecars.protobuf.shutdown();
    this._p.grpcClient.close();
    await this._p.sidecars.grpc.shutdown();
    const file = join(this._dir, 'traces.jsonl');
    writeFileSync(file, this._lines.join('\n') + '\n');
    let out = '';
    let err = '';
    const sink = (write: (s: string) => void): Writable =>
      new Writable({
        write(chunk: Buffer, _enc, cb) {
          write(chunk.toString('utf8'));
          cb();
        },
      });
    const code = await runConvert([file], {
      stdout: sink((s) => (out += s)),
      stderr: sink((s) => (err += s)),
      env: {},
    });
    if (code !== 0 && !err.includes('no OTLP/JSON trace data')) throw new Error(`convert failed: ${err}`);
    const converted = out
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => (JSON.parse(l) as { transaction: FenraTransaction }).transaction);
    const received = (m: Exclude<Mode, 'convert'>): FenraTransaction[] =>
      this._p.ingest[m].accepted.map((a) => a.transaction);
    return {
      processor: sorted(received('processor')),
      exporter: sorted(received('exporter')),
      'serve-json': sorted(received('serve-json')),
      'serve-protobuf': sorted(received('serve-protobuf')),
      'serve-grpc': sorted(received('serve-grpc')),
      convert: sorted(converted),
    };
  }

  async close(): Promise<void> {
    await this._p.processor.shutdown();
    await this._provider.shutdown();
    for (const i of Object.values(this._p.ingest)) await i.close();
    rmSync(this._dir, { recursive: true, force: true });
  }

  private _start(spans: readonly SpanView[]): Map<string, Span> {
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const live = new Map<string, Span>();
    const ctxOf = (view: SpanView): Context => {
      const p = view.parentSpanId;
      if (p === undefined) return ROOT_CONTEXT;
      const parent = live.get(p);
      if (parent !== undefined) return trace.setSpan(ROOT_CONTEXT, parent);
      // A parent in another process, or one never exported (dropped by a sampler).
      return trace.setSpan(
        ROOT_CONTEXT,
        trace.wrapSpanContext({
          traceId: view.traceId,
          spanId: p,
          traceFlags: TraceFlags.SAMPLED,
          isRemote: view.parentIsRemote === true,
        }),
      );
    };
    const start = (view: SpanView): void => {
      if (live.has(view.spanId)) return;
      const p = view.parentSpanId;
      if (p !== undefined && byId.has(p)) start(byId.get(p)!);
      const ctx = ctxOf(view);
      if (trace.getSpan(ctx) === undefined) this._ids.traceIds.push(view.traceId);
      this._ids.spanIds.push(view.spanId);
      const tracer = this._provider.getTracer(view.scope.name, view.scope.version);
      const span = tracer.startSpan(
        view.name,
        {
          kind: view.kind,
          startTime: view.startTimeMs,
          attributes: view.attributes as Record<string, never>,
        },
        ctx,
      );
      if (view.status.code !== 0) span.setStatus({ code: view.status.code, message: view.status.message });
      live.set(view.spanId, span);
    };
    for (const s of spans) start(s);
    return live;
  }

  private async _post(
    sidecar: RunningSidecar,
    spans: ReadableSpan[],
    enc: 'json' | 'protobuf',
  ): Promise<void> {
    const body =
      enc === 'json'
        ? JsonTraceSerializer.serializeRequest(spans)!
        : ProtobufTraceSerializer.serializeRequest(spans)!;
    const { host, port } = sidecar.address;
    const res = await fetch(`http://${host}:${port}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': enc === 'json' ? 'application/json' : 'application/x-protobuf' },
      body,
    });
    if (res.status !== 200) throw new Error(`serve-${enc} answered ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
  }
}

const keyOf = (t: FenraTransaction): string =>
  `${String(t.context['trace_id'])}/${String(t.context['span_id'])}`;

function sorted(txs: FenraTransaction[]): FenraTransaction[] {
  return [...txs].sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));
}
