/**
 * In-process overhead of FenraSpanProcessor, measured on the BUILT package (dist/index.js, what
 * users run) in CPU time (process.cpuUsage), against a baseline measured in the same run:
 *
 * - end to end: requests of 10 spans (1 LLM span from the recorded fixtures, 9 HTTP/DB/internal
 *   spans) through a NodeTracerProvider with a BatchSpanProcessor and the real OTLP/HTTP
 *   exporter sending to a loopback sink; the same with FenraSpanProcessor added (its client
 *   sending to the strict fake ingest server). The sinks run in another process. Runs
 *   alternate (A B B A ...) after a warm-up; medians. The event loop is yielded every 50
 *   requests, as an app's would be, so exporters run during the load and nothing is dropped.
 * - micro: onStart + onEnd of the processor alone on spans recorded from the same workload,
 *   GenAI and other spans timed separately; the GenAI figure includes conversion, pricing,
 *   queueing and the later serialisation and sending (forceFlush inside the timed region).
 */
import { setImmediate as yieldLoop } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import type { Context } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type * as FenraApi from '../src/index.js';
import type { Sinks } from './util.js';
import { API_KEY, cpuSince, DIST, median, round } from './util.js';
import { runRequest, SPANS_PER_REQUEST, tracerCache } from './workload.js';

type Api = typeof FenraApi;

export async function loadBuilt(): Promise<Api> {
  return (await import(pathToFileURL(`${DIST}index.js`).href)) as Api;
}

const resource = resourceFromAttributes({
  'service.name': 'support-bot',
  'service.version': '1.4.2',
  'deployment.environment.name': 'production',
});

export interface InProcessResult {
  inprocess_cpu_ratio: number;
  /** End to end: CPU µs per span without / with Fenra, and the difference. */
  e2e_us_per_span_baseline: number;
  e2e_us_per_span_fenra: number;
  e2e_added_us_per_span: number;
  /**
   * The app's own export (the exporter's `export()`: spans to an OTLP request), CPU µs per span,
   * without / with Fenra beside it: the same work, made dearer by Fenra's garbage and cache use.
   */
  app_export_us_per_span_baseline: number;
  app_export_us_per_span_fenra: number;
  /** `app_export_us_per_span_fenra` − `app_export_us_per_span_baseline`. */
  app_export_added_us_per_span: number;
  us_per_genai_span: number;
  /** `us_per_genai_span` / `e2e_us_per_span_baseline`: a GenAI span against a plain span's whole export. */
  genai_vs_plain_export: number;
  /** The synchronous part paid inside onEnd (convert, price, enqueue). */
  us_per_genai_span_onend: number;
  /** onStart + onEnd of a non-GenAI span, as the app pays it (span just made). */
  us_per_other_span: number;
  /** `us_per_other_span` / `e2e_us_per_span_baseline`. */
  other_vs_plain_export: number;
  /** The same on spans replayed long after they were made (out of cache): an upper bound. */
  us_per_other_span_cold: number;
  requests_per_1000_tx: number;
  bytes_per_1000_tx: number;
  wire_transactions: number;
  spans_per_run: number;
  runs: number;
}

async function e2eRun(
  api: Api,
  sinks: Sinks,
  withFenra: boolean,
  requests: number,
): Promise<{ cpuUs: number; exportUs: number; billed: number; accepted: number; dropped: number }> {
  // The app's own export, timed where it runs: the BSP calls export() and the exporter turns the
  // spans into a request before it returns (the sending goes on off this call).
  const exporter = new OTLPTraceExporter({ url: sinks.otlp });
  const exportSpans = exporter.export.bind(exporter);
  let exportUs = 0;
  exporter.export = (spans, done) => {
    const c = process.cpuUsage();
    exportSpans(spans, done);
    exportUs += cpuSince(c);
  };
  const bsp = new BatchSpanProcessor(exporter);
  const fenra = withFenra
    ? new api.FenraSpanProcessor({ apiKey: API_KEY, endpoint: sinks.ingest })
    : undefined;
  const processors: SpanProcessor[] = fenra ? [fenra, bsp] : [bsp];
  const provider = new NodeTracerProvider({ resource, spanProcessors: processors });
  const tracers = tracerCache(provider);
  const start = process.cpuUsage();
  for (let i = 0; i < requests; i++) {
    runRequest(tracers, i);
    if (i % 50 === 49) await yieldLoop();
  }
  await provider.forceFlush();
  const cpuUs = cpuSince(start);
  const s = fenra?.stats();
  await provider.shutdown();
  const dropped = s ? Object.values(s.delivery.dropped).reduce((a, b) => a + b, 0) : 0;
  return { cpuUs, exportUs, billed: s?.billed ?? 0, accepted: s?.delivery.accepted ?? 0, dropped };
}

interface Recorded {
  starts: { span: Span; ctx: Context; genai: boolean }[];
  ends: { span: ReadableSpan; genai: boolean }[];
}

/** Records what a provider hands its processors for `requests` requests of the workload. */
async function record(requests: number): Promise<Recorded> {
  const rec: Recorded = { starts: [], ends: [] };
  const isGenAi = (s: { instrumentationScope: { name: string } }): boolean =>
    !/instrumentation-(http|pg|ioredis|undici|express)$/.test(s.instrumentationScope.name);
  const recorder: SpanProcessor = {
    onStart: (span, ctx) => rec.starts.push({ span, ctx, genai: isGenAi(span) }),
    onEnd: (span) => rec.ends.push({ span, genai: isGenAi(span) }),
    forceFlush: () => Promise.resolve(),
    shutdown: () => Promise.resolve(),
  };
  const provider = new NodeTracerProvider({ resource, spanProcessors: [recorder] });
  const tracers = tracerCache(provider);
  for (let i = 0; i < requests; i++) runRequest(tracers, i);
  await provider.shutdown();
  return rec;
}

/**
 * CPU per non-GenAI span of the processor's onStart + onEnd, measured as an application pays it:
 * on spans that were just made (in cache), a chunk of requests at a time, right after the chunk
 * ran. Wall time of each replay (single-threaded, no I/O), median over the chunks.
 */
async function otherSpanCost(api: Api, sinks: Sinks, requests: number): Promise<number> {
  const fenra = new api.FenraSpanProcessor({
    apiKey: API_KEY,
    endpoint: sinks.ingest,
    maxQueueSize: requests * 2,
  });
  const isGenAi = (s: { instrumentationScope: { name: string } }): boolean =>
    !/instrumentation-(http|pg|ioredis|undici|express)$/.test(s.instrumentationScope.name);
  let starts: { span: Span; ctx: Context }[] = [];
  let ends: ReadableSpan[] = [];
  const recorder: SpanProcessor = {
    onStart: (span, ctx) => {
      if (!isGenAi(span)) starts.push({ span, ctx });
    },
    onEnd: (span) => {
      if (!isGenAi(span)) ends.push(span);
    },
    forceFlush: () => Promise.resolve(),
    shutdown: () => Promise.resolve(),
  };
  const provider = new NodeTracerProvider({ resource, spanProcessors: [recorder] });
  const tracers = tracerCache(provider);
  const CHUNK = 20;
  const perSpan: number[] = [];
  for (let c = 0; c < requests; c += CHUNK) {
    starts = [];
    ends = [];
    for (let i = c; i < c + CHUNK; i++) runRequest(tracers, i);
    const t0 = process.hrtime.bigint();
    for (const s of starts) fenra.onStart(s.span, s.ctx);
    for (const s of ends) fenra.onEnd(s);
    perSpan.push(Number(process.hrtime.bigint() - t0) / 1000 / ends.length);
  }
  await provider.shutdown();
  await fenra.shutdown();
  return median(perSpan);
}

async function microRound(
  api: Api,
  sinks: Sinks,
  requests: number,
): Promise<{ genai: number; genaiOnEnd: number; other: number; billed: number; accepted: number }> {
  const rec = await record(requests);
  const fenra = new api.FenraSpanProcessor({
    apiKey: API_KEY,
    endpoint: sinks.ingest,
    maxQueueSize: requests * 2,
  });
  const otherStarts = rec.starts.filter((s) => !s.genai);
  const genaiStarts = rec.starts.filter((s) => s.genai);
  const genaiEnds = rec.ends.filter((s) => s.genai).map((s) => s.span);
  const otherEnds = rec.ends.filter((s) => !s.genai).map((s) => s.span);

  const c0 = process.cpuUsage();
  for (const s of otherStarts) fenra.onStart(s.span, s.ctx);
  const otherA = cpuSince(c0);

  // GenAI spans end a few at a time with the event loop turning in between, as in an app: what
  // onStart/onEnd cost is `genaiSync`; the batch conversions run in between and, with the
  // sending, are in `genaiAll`.
  const c1 = process.cpuUsage();
  for (const s of genaiStarts) fenra.onStart(s.span, s.ctx);
  let genaiSync = cpuSince(c1);
  for (let i = 0; i < genaiEnds.length; i += 32) {
    const c = process.cpuUsage();
    for (let j = i; j < Math.min(i + 32, genaiEnds.length); j++) fenra.onEnd(genaiEnds[j]!);
    genaiSync += cpuSince(c);
    await yieldLoop();
  }
  await fenra.forceFlush();
  const genaiAll = cpuSince(c1);

  const c2 = process.cpuUsage();
  for (const s of otherEnds) fenra.onEnd(s);
  const otherB = cpuSince(c2);

  const st = fenra.stats();
  await fenra.shutdown();
  return {
    genai: genaiAll / genaiStarts.length,
    genaiOnEnd: genaiSync / genaiStarts.length,
    other: (otherA + otherB) / otherStarts.length,
    billed: st.billed,
    accepted: st.delivery.accepted,
  };
}

export async function benchInProcess(
  sinks: Sinks,
  opts: { requests?: number; pairs?: number; microRounds?: number } = {},
): Promise<InProcessResult> {
  const api = await loadBuilt();
  const requests = opts.requests ?? 3000;
  const pairs = opts.pairs ?? 8;

  // Warm-up: JIT, connection pools, price memo.
  for (let i = 0; i < 2; i++) {
    await e2eRun(api, sinks, false, requests);
    await e2eRun(api, sinks, true, requests);
  }
  const base: number[] = [];
  const withF: number[] = [];
  const ratios: number[] = [];
  const exportBase: number[] = [];
  const exportWithF: number[] = [];
  let wire = { requests: 0, bytes: 0, tx: 0 };
  for (let p = 0; p < pairs; p++) {
    const order = p % 2 === 0 ? [false, true] : [true, false];
    const got: Record<string, number> = {};
    for (const f of order) {
      await sinks.reset();
      const r = await e2eRun(api, sinks, f, requests);
      if (f) {
        const st = await sinks.stats();
        if (r.dropped > 0 || r.accepted !== requests || st.ingestAccepted !== requests) {
          throw new Error(
            `in-process run lost transactions: billed ${r.billed}, accepted ${r.accepted}, dropped ${r.dropped}, ingest recorded ${st.ingestAccepted}, expected ${requests}`,
          );
        }
        wire = {
          requests: wire.requests + st.ingestRequests,
          bytes: wire.bytes + st.ingestBytes,
          tx: wire.tx + st.ingestAccepted,
        };
      }
      got[String(f)] = r.cpuUs;
      (f ? exportWithF : exportBase).push(r.exportUs);
    }
    base.push(got['false'] as number);
    withF.push(got['true'] as number);
    ratios.push((got['true'] as number) / (got['false'] as number));
  }

  const microRequests = 5000;
  const rounds = opts.microRounds ?? 9;
  await microRound(api, sinks, 1000); // warm-up
  await otherSpanCost(api, sinks, 1000);
  const g: number[] = [];
  const gs: number[] = [];
  const o: number[] = [];
  const oHot: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const m = await microRound(api, sinks, microRequests);
    if (m.billed !== microRequests || m.accepted !== microRequests) {
      throw new Error(`micro round billed ${m.billed}, accepted ${m.accepted} of ${microRequests}`);
    }
    g.push(m.genai);
    gs.push(m.genaiOnEnd);
    o.push(m.other);
    oHot.push(await otherSpanCost(api, sinks, microRequests));
  }

  const spans = requests * SPANS_PER_REQUEST;
  const mb = median(base);
  const mf = median(withF);
  return {
    inprocess_cpu_ratio: round(median(ratios), 3),
    e2e_us_per_span_baseline: round(mb / spans),
    e2e_us_per_span_fenra: round(mf / spans),
    e2e_added_us_per_span: round((mf - mb) / spans, 3),
    app_export_us_per_span_baseline: round(median(exportBase) / spans),
    app_export_us_per_span_fenra: round(median(exportWithF) / spans),
    app_export_added_us_per_span: round((median(exportWithF) - median(exportBase)) / spans, 3),
    us_per_genai_span: round(median(g)),
    genai_vs_plain_export: round(median(g) / (mb / spans), 3),
    us_per_genai_span_onend: round(median(gs)),
    us_per_other_span: round(median(oHot), 3),
    other_vs_plain_export: round(median(oHot) / (mb / spans), 4),
    us_per_other_span_cold: round(median(o), 3),
    requests_per_1000_tx: round((wire.requests / wire.tx) * 1000, 1),
    bytes_per_1000_tx: Math.round((wire.bytes / wire.tx) * 1000),
    wire_transactions: wire.tx,
    spans_per_run: spans,
    runs: pairs * 2,
  };
}
