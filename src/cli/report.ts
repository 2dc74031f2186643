import { parseVerbArgs } from './args.js';
import { join } from 'node:path';
import type { Dimension, LedgerSnapshot, Totals } from '../local/ledger.js';
import { DIMENSIONS, Ledger } from '../local/ledger.js';
import { parseRecordLines } from '../local/records.js';
import { processEnv } from '../config/env.js';
import { resolveDataDir } from '../config/serve.js';
import { TRANSACTIONS_FILE } from '../local/sink.js';
import type { CliStreams } from './convert.js';
import { readInput } from './io.js';

export const REPORT_HELP = `Usage: fenra-otel report [FILE|-] [options]

Prints the totals of billed transactions as a table: by default from the local sink
that 'fenra-otel serve' writes in local mode (<data dir>/transactions.jsonl), or from
FILE: that file, or the output of 'fenra-otel convert' (- reads standard input).

Options:
  --by customer|model|feature|provider   what to total by (default customer)
  --data-dir DIR            the local sink's directory ($FENRA_DATA_DIR, default .fenra)
  --json                    print the totals as JSON instead of a table
  -h, --help                this help
`;

const usd = (v: number): string => `$${v.toFixed(6)}`;
const int = (v: number): string => v.toLocaleString('en-US');

/** A plain text table: first column left-aligned, the others right-aligned. */
export function textTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(header), rule, ...rows.slice(0, -1).map(line), rule, line(rows.at(-1)!)].join('\n') + '\n';
}

/** The report for one dimension: a table with a TOTAL row, then unpriced and unattributed notes. */
export function formatReport(s: LedgerSnapshot, by: Dimension): string {
  if (s.totals.transactions === 0) return 'No transactions.\n';
  const cells = (key: string, t: Totals): string[] => [
    key,
    int(t.transactions),
    int(t.inputTokens),
    int(t.outputTokens),
    usd(t.usd),
    int(t.unpriced),
  ];
  const rows = s.by[by].map((r) => cells(r.key, r.totals));
  rows.push(cells('TOTAL', s.totals));
  let out = textTable(
    [by.toUpperCase(), 'TRANSACTIONS', 'INPUT TOKENS', 'OUTPUT TOKENS', 'EST. USD', 'UNPRICED'],
    rows,
  );
  const reasons = Object.entries(s.unpricedReasons);
  if (reasons.length) {
    out +=
      `\n${int(s.totals.unpriced)} unpriced transaction(s) are not in EST. USD: ` +
      reasons.map(([k, v]) => `${k}=${v}`).join(' ') +
      ' (see "How pricing works" in the README to add a price)\n';
  }
  if (s.cacheSplitMissing)
    out +=
      `\n${int(s.cacheSplitMissing)} transaction(s) come from an instrumentation known to drop the cached part of the input\n` +
      `(context cache_split_missing): their cached input is billed at the full input rate\n`;
  if (s.reasoningMissing)
    out +=
      `\n${int(s.reasoningMissing)} transaction(s) come from an instrumentation that leaves reasoning (thinking) tokens out of\n` +
      `the output it reports (context reasoning_missing): they are billed without them\n`;
  if (s.unattributed)
    out += `\n${int(s.unattributed)} transaction(s) have no customer ("unattributed"): set a customer attribute or --customer-id-key\n`;
  return out;
}

export async function runReport(argv: string[], io: CliStreams): Promise<number> {
  const args = parseVerbArgs(
    'report',
    REPORT_HELP,
    argv,
    {
      by: { type: 'string', default: 'customer' },
      'data-dir': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    io,
  );
  if (typeof args === 'number') return args;
  const { values, positionals } = args;
  const by = values.by as Dimension;
  if (!DIMENSIONS.includes(by)) {
    io.stderr.write(`fenra-otel report: --by takes ${DIMENSIONS.join(', ')}; got '${values.by}'\n`);
    return 2;
  }
  if (positionals.length > 1) {
    io.stderr.write(`fenra-otel report: expected at most one FILE\n\n${REPORT_HELP}`);
    return 2;
  }
  const env = io.env ?? processEnv();
  const file = positionals[0] ?? join(resolveDataDir(values['data-dir'], env), TRANSACTIONS_FILE);
  let text: string;
  try {
    text = await readInput(file, io.stdin);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    io.stderr.write(
      err.code === 'ENOENT'
        ? `fenra-otel report: ${file} does not exist yet. Start the sidecar in local mode (npm start,\n` +
            `or 'fenra-otel serve' with no FENRA_API_KEY) and send it traces, or pass a file.\n`
        : `fenra-otel report: cannot read ${file}: ${err.message}\n`,
    );
    return 1;
  }
  const parsed = parseRecordLines(text);
  for (const p of parsed.problems.slice(0, 5)) io.stderr.write(`fenra-otel report: ${file}: skipped ${p}\n`);
  if (parsed.problems.length > 5)
    io.stderr.write(`fenra-otel report: … and ${parsed.problems.length - 5} more unreadable lines\n`);
  const snapshot = new Ledger().addAll(parsed.records).snapshot();
  if (values.json) {
    io.stdout.write(
      JSON.stringify(
        {
          source: file,
          by,
          totals: snapshot.totals,
          unattributed: snapshot.unattributed,
          cacheSplitMissing: snapshot.cacheSplitMissing,
          reasoningMissing: snapshot.reasoningMissing,
          unpricedReasons: snapshot.unpricedReasons,
          rows: snapshot.by[by],
        },
        null,
        2,
      ) + '\n',
    );
    return 0;
  }
  io.stdout.write(`Transactions in ${file === '-' ? 'standard input' : file}\n\n`);
  io.stdout.write(formatReport(snapshot, by));
  return 0;
}
