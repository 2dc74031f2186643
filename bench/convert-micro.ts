/**
 * Micro-benchmark of the per-span conversion, stage by stage, on the recorded fixtures
 * (test/fixtures/recorded). Run: `npx tsx bench/convert-micro.ts [--rounds 9] [--iters 20000]`.
 *
 * Stages (median ns per span over the rounds; one warmed PriceBook, as in the processor):
 * - convertTrace + price: the core's conversion of a billed span with its ancestors (detect,
 *   dedupe, attribute, check), then its price;
 * - detect / resolveContext / render+validate / price: the parts alone on the same spans;
 * - non-GenAI: the processor's per-span work for a span that is not a model call
 *   (AttributionTracker.onStart with a parent in context, then the GenAI marker check);
 * - non-GenAI, real provider: CPU per span of a BasicTracerProvider making HTTP-like spans
 *   (a root and nine children) with FenraSpanProcessor added, minus the same without it.
 */
import { ROOT_CONTEXT, propagation, trace } from '@opentelemetry/api';
import type { Context } from '@opentelemetry/api';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { FenraSpanProcessor } from '../src/otel/span-processor.js';
import { renderTransaction, validateTransaction } from '../src/fenra/render-transaction.js';
import { resolveContext } from '../src/genai/context.js';
import type { AttributionLayers } from '../src/genai/context.js';
import { detectModelCall, hasGenAiMarker } from '../src/genai/detect.js';
import type { ToTransactionsOptions as ConversionOptions } from '../src/stage/to-transactions.js';
import type { ModelCall, Usage } from '../src/genai/types.js';
import { AttributionTracker } from '../src/otel/attribution.js';
import { convertTrace } from '../src/genai/convert-trace.js';
import { priceCall } from '../src/pricing/price-call.js';
import { PriceBook } from '../src/pricing/price-book.js';
import type { PricedTransaction } from '../src/stage/priced-transaction.js';
import type { Attributes, SpanView } from '../src/span/span-view.js';
import { FIXTURES, loadFixture } from '../test/otel/replay.js';
import { readdirSync } from 'node:fs';

const args = process.argv.slice(2);
const arg = (name: string, dflt: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const ROUNDS = arg('--rounds', 9);
const ITERS = arg('--iters', 20000);

const names = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.otlp.json'))
  .map((f) => f.slice(0, -'.otlp.json'.length))
  .sort();

interface Case {
  fixture: string;
  span: SpanView;
  /** The span and its ancestors, nearest first. */
  group: SpanView[];
}

function groupOf(span: SpanView, byId: Map<string, SpanView>): SpanView[] {
  const out: SpanView[] = [span];
  let p = span.parentSpanId;
  const seen = new Set<string>([span.spanId]);
  while (p !== undefined && !seen.has(p)) {
    seen.add(p);
    const a = byId.get(p);
    if (!a) break;
    out.push(a);
    p = a.parentSpanId;
  }
  return out;
}

/** The whole conversion of one billed span with its ancestors, priced. */
function convertCase(c: Case): unknown {
  const out = convertTrace(c.group, options);
  for (const b of out.calls) if (b.call.span === c.span) return priceCall(options.pricer, b.call);
  return undefined;
}

const options: ConversionOptions = { pricer: new PriceBook() };
const billed: Case[] = [];
const others: SpanView[] = [];
for (const name of names) {
  const spans = loadFixture(name);
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  for (const span of spans) {
    if (!hasGenAiMarker(span.attributes)) {
      others.push(span);
      continue;
    }
    const c: Case = { fixture: name, span, group: groupOf(span, byId) };
    if (convertCase(c) !== undefined) billed.push(c);
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

let sink = 0;
/** Median ns per call of `fn(i)`, cycling over `n` inputs. */
function time(n: number, fn: (i: number) => unknown): number {
  const per: number[] = [];
  for (let r = 0; r < ROUNDS + 1; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < ITERS; i++) if (fn(i % n) !== undefined) sink++;
    const ns = Number(process.hrtime.bigint() - t0) / ITERS;
    if (r > 0) per.push(ns); // the first round warms up
  }
  return median(per);
}

const layers: AttributionLayers[] = billed.map((c) => ({
  span: c.span.attributes,
  ancestors: c.group.slice(1).map((a): Attributes => a.attributes),
  baggage: undefined,
  resource: c.span.resource,
}));
const calls = billed.map((c) => {
  const d = detectModelCall(c.span, options);
  if (!('call' in d)) throw new Error(`not a call: ${c.fixture}`);
  return d.call as ModelCall & { model: string; usage: Usage };
});
const contexts = calls.map((call, i) => resolveContext(call, layers[i]!, options).context);
const priced: PricedTransaction[] = calls.map((call, i) => ({
  provider: call.provider.fenra,
  model: call.model,
  modelTier: call.modelTier,
  usage: call.usage,
  context: contexts[i]!,
  price: priceCall(options.pricer, call),
  span: { traceId: call.span.traceId, spanId: call.span.spanId, name: call.span.name },
  endTimeMs: call.span.endTimeMs,
}));
const txs = priced.map(renderTransaction);

const results: Record<string, number> = {};
results['convertTrace + price (billed GenAI span)'] = time(billed.length, (i) => convertCase(billed[i]!));
results['  detectModelCall'] = time(billed.length, (i) => detectModelCall(billed[i]!.span, options));
results['  resolveContext'] = time(billed.length, (i) => resolveContext(calls[i]!, layers[i]!, options));
results['  renderTransaction'] = time(billed.length, (i) => renderTransaction(priced[i]!));
results['  validateTransaction'] = time(billed.length, (i) => validateTransaction(txs[i]));
results['  PriceBook.price'] = time(billed.length, (i) => {
  const call = calls[i]!;
  return options.pricer.price({
    provider: call.provider.fenra,
    canonicalProvider: call.provider.canonical,
    model: call.model,
    usage: call.usage,
    modelTier: call.modelTier,
    timestampMs: call.span.endTimeMs,
  });
});

// Non-GenAI spans: what the processor does for them (onStart, then the marker check in onEnd).
const tracker = new AttributionTracker();
const tracer = trace.getTracer('bench');
const parent = tracer.startSpan('parent');
const parentCtx: Context = trace.setSpan(ROOT_CONTEXT, parent);
const baggageCtx: Context = propagation.setBaggage(
  parentCtx,
  propagation.createBaggage({ 'customer.id': { value: 'c-1' } }),
);
const objs = others.map(() => tracer.startSpan('x'));
results['non-GenAI: onStart (parent, no baggage)'] = time(others.length, (i) =>
  tracker.onStart(objs[i]!, parentCtx),
);
results['non-GenAI: onStart (parent + baggage)'] = time(others.length, (i) =>
  tracker.onStart(objs[i]!, baggageCtx),
);
results['non-GenAI: hasGenAiMarker'] = time(others.length, (i) =>
  hasGenAiMarker(others[i]!.attributes) ? 1 : undefined,
);

// The same, end to end through a real tracer provider (CPU time, with minus without).
const httpAttrs = {
  'http.request.method': 'GET',
  'url.full': 'https://api.example.com/v1/items',
  'server.address': 'api.example.com',
  'server.port': 443,
  'http.response.status_code': 200,
  'network.protocol.version': '1.1',
};
function providerRun(withFenra: boolean, requests: number): number {
  const processors: SpanProcessor[] = withFenra
    ? [new FenraSpanProcessor({ apiKey: 'bench', endpoint: 'http://127.0.0.1:9' })]
    : [];
  const provider = new BasicTracerProvider({ spanProcessors: processors });
  const t = provider.getTracer('bench');
  const c0 = process.cpuUsage();
  for (let r = 0; r < requests; r++) {
    const root = t.startSpan('GET /items', { attributes: httpAttrs });
    const ctx = trace.setSpan(ROOT_CONTEXT, root);
    for (let i = 0; i < 9; i++) t.startSpan('child', { attributes: httpAttrs }, ctx).end();
    root.end();
  }
  const c = process.cpuUsage(c0);
  return ((c.user + c.system) * 1000) / (requests * 10);
}
const without: number[] = [];
const withF: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  without.push(providerRun(false, 20000));
  withF.push(providerRun(true, 20000));
}
results['non-GenAI, real provider: added CPU/span'] = median(withF) - median(without);

console.log(
  `Node ${process.version}; ${billed.length} billed spans from ${names.length} fixtures, ` +
    `${others.length} non-GenAI spans; ${ROUNDS} rounds × ${ITERS} calls, median ns/span`,
);
for (const [k, v] of Object.entries(results)) console.log(`${k.padEnd(42)} ${v.toFixed(0).padStart(7)} ns`);
if (sink < 0) console.log(sink);
process.exit(0); // the processors' delivery timers
