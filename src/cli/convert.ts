import type { Writable } from 'node:stream';
import { parseVerbArgs } from './args.js';
import { toTransactions } from '../genai/to-transactions.js';
import { PriceBook } from '../pricing/price-book.js';
import { parseOtlpJsonText, spansFromOtlpJson } from '../span/from-otlp-json.js';
import type { SpanView } from '../span/span-view.js';
import { readInput, writeLine } from './io.js';
import { summarise } from './summary.js';

export const CONVERT_HELP = `Usage: fenra-otel convert FILE|- [options]

Reads OTLP/JSON traces (one ExportTraceServiceRequest, or JSON Lines of them as the
OpenTelemetry Collector's file exporter writes) and prints one JSON object per line per
billed provider call:
  {"transaction": <Fenra wire body>, "price": {...}, "span": {"trace_id","span_id","name"}}
A one-line summary goes to stderr. Nothing is sent anywhere, unless --send.

Options:
  --customer-id ID          billable customer for calls with no customer attribute
                            (default: $FENRA_BILLABLE_CUSTOMER_ID, else "unattributed")
  --customer-id-key KEY     attribute key holding the customer id; repeat to give an
                            ordered list (replaces the default list)
  --context-key KEY         extra attribute key to copy into the transaction context
                            (repeatable; the allow-list)
  --azure-deployment D=M    Azure OpenAI deployment D runs model M (repeatable)
  --send                    back-fill: send the transactions to Fenra ($FENRA_API_KEY,
                            $FENRA_ENDPOINT) instead of printing them, with progress on
                            stderr; with no API key, write them to the local sink
  --data-dir DIR            the local sink's directory ($FENRA_DATA_DIR, default .fenra)
  -h, --help                this help
`;

export interface CliStreams {
  stdout: Writable;
  stderr: Writable;
  stdin?: NodeJS.ReadableStream;
  env?: Readonly<Record<string, string | undefined>>;
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
      send: { type: 'boolean' },
      'data-dir': { type: 'string' },
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

  const file = positionals[0]!;
  let text: string;
  try {
    text = await readInput(file, io.stdin);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    io.stderr.write(
      `fenra-otel convert: cannot read ${file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}\n`,
    );
    return 1;
  }
  const parsed = parseOtlpJsonText(text);
  const errors = [...parsed.errors];
  const spans: SpanView[] = [];
  for (const request of parsed.requests) {
    const r = spansFromOtlpJson(request);
    spans.push(...r.spans);
    errors.push(...r.errors);
  }
  for (const e of errors.slice(0, 20)) io.stderr.write(`fenra-otel convert: ${e}\n`);
  if (errors.length > 20) io.stderr.write(`fenra-otel convert: … and ${errors.length - 20} more problems\n`);
  if (parsed.requests.length === 0) {
    io.stderr.write(`fenra-otel convert: ${file} holds no OTLP/JSON trace data\n`);
    return 1;
  }

  const env = io.env ?? process.env;
  const result = toTransactions(spans, {
    pricer: new PriceBook(),
    defaultCustomerId: values['customer-id'] ?? (env['FENRA_BILLABLE_CUSTOMER_ID'] || undefined),
    customerIdKeys: values['customer-id-key'],
    contextKeys: values['context-key'],
    azureDeployments,
  });
  if (values.send) {
    io.stderr.write(summarise(result, errors.length) + '\n');
    const { sendConverted } = await import('./convert-send.js');
    return sendConverted(result.transactions, result.spans, { io, env, dataDir: values['data-dir'] });
  }
  for (const t of result.transactions) {
    await writeLine(
      io.stdout,
      JSON.stringify({
        transaction: t.transaction,
        price: t.price,
        span: { trace_id: t.span.traceId, span_id: t.span.spanId, name: t.span.name },
      }),
    );
  }
  io.stderr.write(summarise(result, errors.length) + '\n');
  return 0;
}
