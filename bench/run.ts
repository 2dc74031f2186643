/**
 * `npm run bench [-- --json FILE] [--only inprocess,pricing,decode,sidecar,startup] [--results bench/RESULTS.md]`
 *
 * `--results FILE` replaces the text between `<!-- bench:table -->` and `<!-- /bench:table -->`
 * in FILE with this run's table and machine.
 *
 * Every figure is measured against a baseline taken in the same run on the same machine.
 * The in-process and sidecar benches run the BUILT package (.tmp-bench-dist, built by the npm
 * script); the receivers (OTLP sink, Fenra ingest) run in a separate process.
 */
import type { RegisterStartup } from './register.js';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { benchDecode } from './decode.js';
import type { InProcessResult } from './inprocess.js';
import { benchInProcess } from './inprocess.js';
import { benchPricing } from './pricing.js';
import type { SidecarResult } from './sidecar.js';
import { benchSidecar } from './sidecar.js';
import { DIST, startSinks } from './util.js';

const { values } = parseArgs({
  options: { json: { type: 'string' }, only: { type: 'string' }, results: { type: 'string' } },
  allowPositionals: false,
});
const only = values.only?.split(',');
const want = (s: string): boolean => only === undefined || only.includes(s);

if (!existsSync(`${DIST}index.js`)) {
  console.error(
    `The built package is missing at ${DIST}; run it through \`npm run bench\` (which builds it).`,
  );
  process.exit(1);
}

function cpuModel(): string {
  try {
    const m = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m?.[1]) return m[1].trim();
  } catch {
    // not Linux
  }
  return cpus()[0]?.model ?? 'unknown';
}

async function section<T>(name: string, fn: () => Promise<T>): Promise<T | undefined> {
  if (!want(name)) return undefined;
  const t = performance.now();
  process.stderr.write(`bench: ${name} ...`);
  const r = await fn();
  process.stderr.write(` ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
  return r;
}

/** `benchRegister()` lives in bench/register.ts; absent → null. */
async function startup(): Promise<RegisterStartup | null> {
  if (!existsSync(new URL('./register.ts', import.meta.url))) return null;
  const mod = (await import('./register.js')) as { benchRegister?: () => Promise<RegisterStartup> };
  if (typeof mod.benchRegister !== 'function') return null;
  return mod.benchRegister();
}

const started = performance.now();
const machine = {
  node: process.version,
  cpu: cpuModel(),
  cores: cpus().length,
  platform: `${process.platform} ${process.arch}`,
  date: new Date().toISOString(),
};

const sinks = await startSinks();
let inproc: InProcessResult | undefined;
let side: SidecarResult | undefined;
let pricing: Awaited<ReturnType<typeof benchPricing>> | undefined;
let decode: Awaited<ReturnType<typeof benchDecode>> | undefined;
let register: RegisterStartup | null | undefined;
try {
  inproc = await section('inprocess', () => benchInProcess(sinks));
  pricing = await section('pricing', () => benchPricing());
  decode = await section('decode', () => benchDecode());
  side = await section('sidecar', () => benchSidecar(sinks));
  register = await section('startup', () => startup());
} finally {
  sinks.close();
}

type Row = [string, string, string, string];
const rows: Row[] = [];
const fmt = (x: number | null | undefined, unit = ''): string =>
  x === undefined ? 'not run' : x === null ? 'n/a' : `${x.toLocaleString('en-US')}${unit}`;
const verdict = (x: number | null | undefined, ok: (v: number) => boolean): string =>
  x === undefined || x === null ? '' : ok(x) ? 'met' : 'MISSED';

/** Issue 16's targets, as ratios to baselines measured in the same run. */
const TARGET = {
  inprocessRatio: 1.1,
  genaiVsPlainExport: 0.5,
  otherVsPlainExport: 0.01,
  sidecarVsBareDecode: 1.5,
  /** A third of the register entry's added start-up when issue 16 was filed (939.5 ms). */
  registerStartupMs: 939.5 / 3,
};
const pct = (x: number): string => `${(x * 100).toFixed(2)} %`;

if (inproc) {
  const i = inproc;
  rows.push([
    'In-process CPU ratio (with / without Fenra, 10 % GenAI spans)',
    fmt(i.inprocess_cpu_ratio, '×'),
    `≤ ${TARGET.inprocessRatio}`,
    verdict(i.inprocess_cpu_ratio, (v) => v <= TARGET.inprocessRatio),
  ]);
  rows.push([
    "  baseline CPU per span (BSP + OTLP/HTTP exporter): a plain span's export",
    fmt(i.e2e_us_per_span_baseline, ' µs'),
    '',
    '',
  ]);
  rows.push(['  added CPU per span, end to end (10 % GenAI)', fmt(i.e2e_added_us_per_span, ' µs'), '', '']);
  rows.push([
    "  of which the app's own export made dearer (its export() per span, without / with Fenra)",
    `${fmt(i.app_export_added_us_per_span, ' µs')} (${fmt(i.app_export_us_per_span_baseline, '')} / ${fmt(i.app_export_us_per_span_fenra, ' µs')})`,
    '',
    '',
  ]);
  rows.push([
    "Added CPU per GenAI span (convert, price, queue, send) / a plain span's export",
    `${fmt(i.genai_vs_plain_export, '×')} (${fmt(i.us_per_genai_span, ' µs')})`,
    `≤ ${TARGET.genaiVsPlainExport}×`,
    verdict(i.genai_vs_plain_export, (v) => v <= TARGET.genaiVsPlainExport),
  ]);
  rows.push([
    '  of which at span end (onEnd; the rest in batches)',
    fmt(i.us_per_genai_span_onend, ' µs'),
    '',
    '',
  ]);
  rows.push([
    "Added CPU per non-GenAI span (onStart + onEnd, span just made) / a plain span's export",
    `${pct(i.other_vs_plain_export)} (${fmt(i.us_per_other_span, ' µs')})`,
    `≤ ${pct(TARGET.otherVsPlainExport)}`,
    verdict(i.other_vs_plain_export, (v) => v <= TARGET.otherVsPlainExport),
  ]);
  rows.push(['  the same on spans out of cache (upper bound)', fmt(i.us_per_other_span_cold, ' µs'), '', '']);
  rows.push(['Wire: HTTP requests per 1,000 transactions (in-process)', fmt(i.requests_per_1000_tx), '', '']);
  rows.push(['Wire: bytes per 1,000 transactions (in-process)', fmt(i.bytes_per_1000_tx, ' B'), '', '']);
}
if (pricing) {
  rows.push([
    'Pricing: PriceBook speed-up over raw calcPrice',
    fmt(pricing.pricing_speedup, '×'),
    '≥ 5×',
    verdict(pricing.pricing_speedup, (v) => v >= 5),
  ]);
  rows.push([
    '  µs per call: raw / PriceBook',
    `${pricing.raw_us_per_call} / ${pricing.book_us_per_call}`,
    '',
    '',
  ]);
}
if (decode)
  rows.push([
    'Bare OTLP/protobuf decode (bench/decode.ts)',
    fmt(decode.decode_spans_per_s, ' spans/s'),
    '',
    '',
  ]);
if (side) {
  const s = side;
  rows.push([
    'Sidecar: GenAI spans/s answered and delivered (--batch-size 1000)',
    fmt(s.sidecar_genai_spans_per_s),
    '≥ 50,000',
    verdict(s.sidecar_genai_spans_per_s, (v) => v >= 50_000),
  ]);
  rows.push([
    '  GenAI spans per sidecar CPU-second (one core)',
    fmt(s.sidecar_genai_spans_per_cpu_s),
    '≥ 50,000',
    verdict(s.sidecar_genai_spans_per_cpu_s, (v) => v >= 50_000),
  ]);
  rows.push([
    '  sidecar CPU per 512-span request / bare decode',
    fmt(s.sidecar_vs_bare_decode, '×'),
    `≤ ${TARGET.sidecarVsBareDecode}×`,
    verdict(s.sidecar_vs_bare_decode, (v) => v <= TARGET.sidecarVsBareDecode),
  ]);
  rows.push([
    '  decode + convert / bare decode (in process)',
    fmt(s.decode_convert_vs_bare_decode, '×'),
    '≤ 2×',
    verdict(s.decode_convert_vs_bare_decode, (v) => v <= 2),
  ]);
  rows.push([
    "  the sidecar's decode (wire scanner, billing filter) / bare decode",
    fmt(s.scan_vs_bare_decode, '×'),
    '',
    '',
  ]);
  rows.push([
    '  bare decode / sidecar CPU per request',
    `${s.bare_decode_us_per_request} / ${s.sidecar_cpu_us_per_request} µs`,
    '',
    '',
  ]);
  rows.push(['  request latency p50 / p99', `${s.sidecar_p50_ms} / ${s.sidecar_p99_ms} ms`, '', '']);
  rows.push([
    '  delivered / expected transactions',
    `${s.sidecar_delivered} / ${s.sidecar_expected}`,
    'equal',
    verdict(s.sidecar_delivered, (v) => v === s.sidecar_expected),
  ]);
  rows.push(['  peak RSS', fmt(s.sidecar_rss_mb, ' MiB'), '', '']);
  rows.push([
    'Sidecar over OTLP/gRPC (same load): GenAI spans/s',
    fmt(s.sidecar_grpc_genai_spans_per_s),
    '',
    '',
  ]);
  rows.push([
    '  GenAI spans per sidecar CPU-second over gRPC (one core)',
    fmt(s.sidecar_grpc_genai_spans_per_cpu_s),
    '',
    '',
  ]);
  rows.push([
    '  sidecar CPU per request, gRPC / HTTP protobuf',
    fmt(s.sidecar_grpc_vs_http_cpu, '×'),
    '≤ 1.1×',
    verdict(s.sidecar_grpc_vs_http_cpu, (v) => v <= 1.1),
  ]);
  rows.push([
    '  gRPC: latency p50 / p99; delivered / expected',
    `${s.sidecar_grpc_p50_ms} / ${s.sidecar_grpc_p99_ms} ms; ${s.sidecar_grpc_delivered} / ${s.sidecar_grpc_expected}`,
    'equal',
    verdict(s.sidecar_grpc_delivered, (v) => v === s.sidecar_grpc_expected),
  ]);
  rows.push([
    'Sidecar with default flags (batches of 100): GenAI spans/s',
    fmt(s.sidecar_default_genai_spans_per_s),
    '',
    '',
  ]);
  rows.push([
    '  429 push-back answers; delivered / expected',
    `${s.sidecar_default_429}; ${s.sidecar_default_delivered} / ${s.sidecar_default_expected}`,
    'equal',
    verdict(s.sidecar_default_delivered, (v) => v === s.sidecar_default_expected),
  ]);
  rows.push(['Sidecar with --spool-dir: GenAI spans/s', fmt(s.sidecar_spool_genai_spans_per_s), '', '']);
  rows.push([
    '  with spool: latency p50 / p99; delivered / expected',
    `${s.sidecar_spool_p50_ms} / ${s.sidecar_spool_p99_ms} ms; ${s.sidecar_spool_delivered} / ${s.sidecar_spool_expected}`,
    'equal',
    verdict(s.sidecar_spool_delivered, (v) => v === s.sidecar_spool_expected),
  ]);
  rows.push([
    'Sidecar RSS when fed faster than Fenra answers',
    fmt(s.sidecar_rss_mb_overload, ' MiB'),
    '',
    '',
  ]);
  rows.push(['  429 answers given meanwhile (push-back)', fmt(s.sidecar_overload_429), '', '']);
  rows.push([
    'Wire: HTTP requests per 1,000 transactions (sidecar, defaults)',
    fmt(s.sidecar_requests_per_1000_tx),
    '',
    '',
  ]);
}
const startupMs = register === undefined ? undefined : (register?.register_startup_ms ?? null);
rows.push([
  'Startup: added time of --import @fenra/otel/register',
  fmt(startupMs, ' ms'),
  `≤ ${Math.round(TARGET.registerStartupMs)} ms (⅓ of 939.5)`,
  verdict(startupMs, (v) => v <= TARGET.registerStartupMs),
]);
if (register) {
  rows.push([
    '  / added time of the register entry when issue 16 was filed (same run)',
    register.register_vs_ref === null
      ? 'n/a (no reference build)'
      : `${fmt(register.register_vs_ref, '×')} (${fmt(register.register_startup_ms)} / ${fmt(register.register_ref_startup_ms, ' ms')})`,
    '≤ 0.33',
    verdict(register.register_vs_ref, (v) => v <= 1 / 3),
  ]);
  rows.push([
    '  app (imports openai) without / with the register entry',
    `${fmt(register.register_plain_ms)} / ${fmt(register.register_with_ms, ' ms')}`,
    '',
    '',
  ]);
  rows.push([
    '  CommonJS app, --require: added (without / with)',
    `${fmt(register.register_cjs_startup_ms, ' ms')} (${fmt(register.register_cjs_plain_ms)} / ${fmt(register.register_cjs_with_ms, ' ms')})`,
    '',
    '',
  ]);
  rows.push([
    '  CommonJS app: added now / added when issue 16 was filed',
    register.register_cjs_vs_ref === null
      ? 'n/a'
      : `${fmt(register.register_cjs_vs_ref, '×')} (${fmt(register.register_cjs_startup_ms)} / ${fmt(register.register_cjs_ref_startup_ms, ' ms')})`,
    '≤ 0.33',
    verdict(register.register_cjs_vs_ref, (v) => v <= 1 / 3),
  ]);
}

const header: Row = ['Measure', 'Result', 'Target', ''];
const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] as string).length)));
const line = (r: Row): string => `| ${r.map((x, c) => x.padEnd(widths[c] as number)).join(' | ')} |`;
const table = [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join(
  '\n',
);
const elapsed = ((performance.now() - started) / 1000).toFixed(0);
console.log(
  `\n${table}\n\nNode ${machine.node}, ${machine.cpu} (${machine.cores} cores), ${machine.platform}; bench took ${elapsed} s.`,
);

if (values.results !== undefined) {
  const text = readFileSync(values.results, 'utf8');
  const begin = '<!-- bench:table -->';
  const end = '<!-- /bench:table -->';
  const a = text.indexOf(begin);
  const b = text.indexOf(end);
  if (a < 0 || b < a) throw new Error(`${values.results} has no ${begin} ... ${end} section`);
  const block = `${begin}\nMeasured on ${machine.date.slice(0, 10)}: Node ${machine.node}, ${machine.cpu} (${machine.cores} cores), ${machine.platform}; the bench took ${elapsed} s.\n\n${table}\n`;
  writeFileSync(values.results, text.slice(0, a) + block + text.slice(b));
  console.log(`table written to ${values.results}`);
}

if (values.json !== undefined) {
  const figures = {
    inprocess_cpu_ratio: inproc?.inprocess_cpu_ratio ?? null,
    us_per_genai_span: inproc?.us_per_genai_span ?? null,
    us_per_other_span: inproc?.us_per_other_span ?? null,
    genai_vs_plain_export: inproc?.genai_vs_plain_export ?? null,
    other_vs_plain_export: inproc?.other_vs_plain_export ?? null,
    pricing_speedup: pricing?.pricing_speedup ?? null,
    sidecar_genai_spans_per_s: side?.sidecar_genai_spans_per_s ?? null,
    sidecar_vs_bare_decode: side?.sidecar_vs_bare_decode ?? null,
    requests_per_1000_tx: inproc?.requests_per_1000_tx ?? null,
    ...(register ?? { register_startup_ms: null }),
    sidecar_rss_mb_overload: side?.sidecar_rss_mb_overload ?? null,
    ...inproc,
    ...(pricing === undefined
      ? {}
      : {
          pricing_raw_us_per_call: pricing.raw_us_per_call,
          pricing_book_us_per_call: pricing.book_us_per_call,
        }),
    ...(decode === undefined ? {} : { decode_spans_per_s: decode.decode_spans_per_s }),
    ...side,
    machine,
  };
  writeFileSync(values.json, `${JSON.stringify(figures, null, 2)}\n`);
  console.log(`figures written to ${values.json}`);
}
