import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { parseVerbArgs } from './args.js';
import type { EnvSource } from '../config/env.js';
import { processEnv } from '../config/env.js';
import { resolveLibraryConfig } from '../config/library.js';
import { resolveDataDir } from '../config/serve.js';
import { renderTransaction } from '../fenra/render-transaction.js';
import { billingAttributeFilter } from '../genai/billing-keys.js';
import type { ConversionOptions } from '../genai/convert-trace.js';
import { PriceBook } from '../pricing/price-book.js';
import { ConversionStage, HOLD_DEFAULTS } from '../stage/conversion-stage.js';
import type { PricedTransaction } from '../stage/priced-transaction.js';
import { spansFromTraceJson } from '../span/from-trace-json.js';
import { writeLine } from './io.js';
import type { InputProgress } from './otlp-input.js';
import { readOtlpJson } from './otlp-input.js';
import { ConvertTotals } from './summary.js';

export const CONVERT_HELP = `Usage: fenra-otel convert FILE|- [options]

Reads traces (OTLP/JSON: one ExportTraceServiceRequest, or JSON Lines of them as the
OpenTelemetry Collector's file exporter writes; or a Jaeger JSON export, as Jaeger UI's
"Download JSON" gives) and prints one JSON object per line per billed provider call:
  {"transaction": <Fenra wire body>, "price": {...}, "span": {"trace_id","span_id","name"}}
A one-line summary goes to stderr. Nothing is sent anywhere, unless --send.
JSON Lines are read as they stream (files larger than memory are fine); spans are
grouped by trace (up to --hold-spans held at once) so a call is attributed from its
ancestors.

Options:
  --customer-id ID          billable customer for calls with no customer attribute
                            (default: $FENRA_BILLABLE_CUSTOMER_ID, else "unattributed")
  --customer-id-key KEY     attribute key holding the customer id; repeat to give an
                            ordered list (replaces the default list)
  --context-key KEY         extra attribute key to copy into the transaction context
                            (repeatable; the allow-list)
  --azure-deployment D=M    Azure OpenAI deployment D runs model M (repeatable)
  --max-tokens-per-call N   largest token count one call may state; above it (or a count
                            that is not a whole number) the call is not billed
                            (invalid_usage) ($FENRA_MAX_TOKENS_PER_CALL, default 100000000)
  --send                    back-fill: send the transactions to Fenra ($FENRA_API_KEY,
                            $FENRA_ENDPOINT) instead of printing them, with progress on
                            stderr; with no API key, write them to the local sink
  --data-dir DIR            the local sink's directory ($FENRA_DATA_DIR, default .fenra)
  --hold-spans N            spans held while their traces complete (default 100000):
                            past it the oldest traces are converted (and sent) first
  -h, --help                this help

Exit status: 0 when all of the input was read; 1 when it could not be read, holds no
trace data, or part of it was invalid (the rest is still converted), or when --send
could not deliver everything; 2 for a usage error.
`;

export interface CliStreams {
  stdout: Writable;
  stderr: Writable;
  stdin?: NodeJS.ReadableStream;
  env?: EnvSource;
}

export async function runConvert(argv: string[], io: CliStreams): Promise<number> {
  const args = parseVerbArgs(
    'convert',
    CONVERT_HELP,
    argv,
    {
      'customer-id': { type: 'string' },
      'customer-id-key': { type: 'string', multiple: true },
      'context-key': { type: 'string', multiple: true },
      'azure-deployment': { type: 'string', multiple: true },
      'max-tokens-per-call': { type: 'string' },
      send: { type: 'boolean' },
      'data-dir': { type: 'string' },
      'hold-spans': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    io,
  );
  if (typeof args === 'number') return args;
  const { values, positionals } = args;
  if (positionals.length !== 1) {
    io.stderr.write(`fenra-otel convert: expected one FILE (or - for standard input)\n\n${CONVERT_HELP}`);
    return 2;
  }
  const azureDeployments: Record<string, string> = {};
  for (const pair of values['azure-deployment'] ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0 || eq === pair.length - 1) {
      io.stderr.write(`fenra-otel convert: --azure-deployment takes DEPLOYMENT=MODEL, got '${pair}'\n`);
      return 2;
    }
    azureDeployments[pair.slice(0, eq)] = pair.slice(eq + 1);
  }

  const holdText = values['hold-spans'];
  const holdSpans = holdText === undefined ? undefined : Number(holdText);
  if (holdSpans !== undefined && !(Number.isSafeInteger(holdSpans) && holdSpans > 0)) {
    io.stderr.write(`fenra-otel convert: --hold-spans takes a positive integer, got '${holdText}'\n`);
    return 2;
  }

  const ceilingText = values['max-tokens-per-call'];
  const ceiling = ceilingText === undefined ? undefined : Number(ceilingText);
  if (
    ceiling !== undefined &&
    !(/^\d+$/.test(ceilingText!) && Number.isSafeInteger(ceiling) && ceiling > 0)
  ) {
    io.stderr.write(
      `fenra-otel convert: --max-tokens-per-call takes a positive integer, got '${ceilingText}'\n`,
    );
    return 2;
  }

  const file = positionals[0]!;
  const env = io.env ?? processEnv();
  // The FENRA_* settings, resolved once (the flags beat them); their problems matter for --send.
  const { config, problems: configProblems } = resolveLibraryConfig(undefined, env, { mode: 'convert' });
  if (values.send) {
    for (const p of configProblems) io.stderr.write(`fenra-otel convert: ${p.message}\n`);
    if (configProblems.some((p) => p.level === 'error')) return 2;
  }
  const conversion: ConversionOptions = {
    defaultCustomerId: values['customer-id'] ?? config.billableCustomerId,
    customerIdKeys: values['customer-id-key'] ?? config.customerIdKeys,
    contextKeys: values['context-key'] ?? config.contextKeys,
    azureDeployments,
    maxTokensPerCall: ceiling ?? config.maxTokensPerCall,
  };
  // The one conversion stage, fed one request (line or document) at a time, in file order, as
  // the sidecar would receive them. A file has no clock: calls wait for their roots until the
  // end of the input, or until --hold-spans forces the oldest traces out.
  let chunk: PricedTransaction[] = [];
  const stage = new ConversionStage({
    conversion,
    pricer: new PriceBook(),
    maxHeldSpans: holdSpans ?? HOLD_DEFAULTS.maxHeldSpans,
    now: () => 0,
    onResult: (r) => {
      if (r.transactions.length > 0) chunk.push(...r.transactions);
    },
  });
  const take = (): PricedTransaction[] => {
    const out = chunk;
    chunk = [];
    totals.add(out);
    return out;
  };
  // Spans held while their traces complete keep only what billing reads (no content).
  const keep = billingAttributeFilter(conversion);
  const totals = new ConvertTotals(stage.stats);
  let traceDocuments = 0;
  // Problems are printed as they come once the input has shown trace data; before that they
  // are held, so that an input with none (a text file) gets one line, not one per problem.
  const held: string[] = [];
  let shown = 0;
  const show = (text: string): void => {
    if (++shown <= MAX_PROBLEMS_SHOWN) io.stderr.write(`fenra-otel convert: ${text}\n`);
  };
  const problem = (text: string): void => {
    totals.problems++;
    if (traceDocuments === 0) held.push(text);
    else show(text);
  };
  const cannotRead = (e: unknown): number => {
    const err = e as NodeJS.ErrnoException;
    io.stderr.write(
      `fenra-otel convert: cannot read ${file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}\n`,
    );
    return 1;
  };

  // The transactions, in chunks, as the input is read and its traces are converted. A read
  // error ends the chunks and is kept for the end (the back-fill must still shut down cleanly).
  let spansRead = 0;
  let readError: unknown;
  const input: InputProgress = { bytesRead: 0, totalBytes: undefined };
  async function* converted(): AsyncGenerator<PricedTransaction[]> {
    try {
      for await (const item of readOtlpJson(file, io.stdin ?? process.stdin, input)) {
        if ('error' in item) {
          problem(item.error);
          continue;
        }
        const r = spansFromTraceJson(item.request, keep);
        if (r.format !== undefined && traceDocuments++ === 0) {
          for (const text of held.splice(0)) show(text);
        }
        spansRead += r.spans.length;
        totals.spans += r.spans.length;
        stage.stats.spansSeen += r.spans.length;
        for (const e of r.errors) problem(e);
        stage.ingest(r.spans);
        if (chunk.length > 0) yield take();
      }
    } catch (e) {
      readError = e;
      return;
    }
    stage.flush();
    yield take();
  }

  let sent = 0;
  if (values.send) {
    // An unreadable file is said before anything is sent.
    if (file !== '-') {
      try {
        await access(file, constants.R_OK);
      } catch (e) {
        return cannotRead(e);
      }
    }
    const { sendConverted } = await import('./convert-send.js');
    sent = await sendConverted(converted(), {
      io,
      config,
      dataDir: resolveDataDir(values['data-dir'], env),
      input: () => ({
        spansRead,
        fraction: input.totalBytes ? Math.min(1, input.bytesRead / input.totalBytes) : undefined,
      }),
    });
  } else {
    for await (const chunk of converted()) {
      for (const t of chunk) await writeLine(io.stdout, transactionLine(t));
    }
  }
  if (readError !== undefined) return cannotRead(readError);
  if (traceDocuments === 0) {
    io.stderr.write(`fenra-otel convert: ${noTraceData(file === '-' ? 'standard input' : file, held)}\n`);
    return 1;
  }
  if (totals.problems > MAX_PROBLEMS_SHOWN) {
    io.stderr.write(`fenra-otel convert: … and ${totals.problems - MAX_PROBLEMS_SHOWN} more problems\n`);
  }
  io.stderr.write(totals.line() + '\n');
  // Part of the input could not be read: what could be read was converted (and sent), and the
  // exit status says the rest was not.
  return sent !== 0 || totals.problems > 0 ? 1 : 0;
}

const MAX_PROBLEMS_SHOWN = 20;

const EXPECTED = 'expected OTLP/JSON traces (resourceSpans) or a Jaeger JSON export (data[].spans)';

/** The one line for an input with no trace data: what it is, what was expected, the first problem. */
function noTraceData(name: string, problems: readonly string[]): string {
  const [first] = problems;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem(s))` : '';
  if (first === undefined) return `${name} holds no trace data: ${EXPECTED}`;
  if (/invalid JSON|empty input/.test(first) && problems.every((p) => /invalid JSON|empty input/.test(p)))
    return `${name} is not JSON (${first.replace(/^(line \d+: )?invalid JSON: /, '')})${more}: ${EXPECTED}`;
  return `${name} holds no trace data: ${EXPECTED}; ${first}${more}`;
}

function transactionLine(t: PricedTransaction): string {
  return JSON.stringify({
    transaction: renderTransaction(t),
    price: t.price,
    span: { trace_id: t.span.traceId, span_id: t.span.spanId, name: t.span.name },
  });
}
