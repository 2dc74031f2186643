import type { HelpGroup, Mode, Setting } from './setting.js';
import { flagText, MIB } from './setting.js';
import { SETTINGS, settingsOf } from './settings.js';

/**
 * The documentation rendered from the setting tables: `fenra-otel serve --help` and the
 * configuration table of docs/configuration.md (`npm run docs:config` rewrites it; a test holds
 * the page to it).
 */

const MODE_LABEL: Record<Mode, string> = {
  library: 'library',
  register: 'register',
  serve: 'serve',
  convert: 'convert --send',
};

/** A default as the README writes it (sizes in MiB). */
function valueText(s: Setting, v: unknown, code: boolean): string {
  if (v === undefined) return 'none';
  if (typeof v === 'number') return String(s.kind === 'mib' ? v / MIB : v);
  const t = Array.isArray(v) ? v.join(',') : String(v);
  return code ? `\`${t}\`` : t;
}

/** The README's default column: the main default, then the modes that differ. */
export function defaultDoc(s: Setting): string {
  if (s.defaultDoc !== undefined) return s.defaultDoc;
  const others = Object.entries(s.modeDefaults ?? {}).map(
    ([mode, v]) => `${MODE_LABEL[mode as Mode]}: ${valueText(s, v, true)}`,
  );
  const main = valueText(s, s.default, true);
  return others.length === 0 ? main : `${main} (${others.join('; ')})`;
}

const code = (t: string): string => `\`${t}\``;

/** One README row: setting | env var | `serve` flag | code option | default. */
function row(s: Setting): string {
  const env = s.env === undefined ? '—' : s.env.map(code).join(', ') + (s.envNote ? ` ${s.envNote}` : '');
  const flag =
    s.flag !== undefined && s.modes.includes('serve')
      ? code(`${flagText(s)!}${s.arg ? ` ${s.arg}` : ''}`) + (s.repeatable ? ' (repeatable)' : '')
      : '—';
  const option = s.option === undefined ? '—' : code(s.option);
  return `| ${s.doc} | ${env} | ${flag} | ${option} | ${defaultDoc(s)} |`;
}

/** The README's configuration table, every setting of every mode. */
export function renderConfigTable(): string {
  const lines = ['| setting | env var | `serve` flag | code option | default |', '|---|---|---|---|---|'];
  for (const s of Object.values(SETTINGS) as Setting[]) lines.push(row(s));
  return lines.join('\n') + '\n';
}

export const TABLE_START =
  '<!-- settings-table:start (generated from src/config/settings-*.ts: npm run docs:config) -->';
export const TABLE_END = '<!-- settings-table:end -->';

/** `readme` with its table replaced by {@link renderConfigTable}. */
export function withConfigTable(readme: string): string {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start < 0 || end < start) throw new Error('the page has no settings-table markers');
  return readme.slice(0, start + TABLE_START.length) + '\n' + renderConfigTable() + readme.slice(end);
}

// ---- serve --help ----------------------------------------------------------------------

const GROUPS: [HelpGroup, string][] = [
  ['local', 'Local mode and the inspector'],
  ['receiver', 'Receiver'],
  ['fenra', 'Fenra'],
  ['durability', 'Durability'],
  ['assembly', 'Trace assembly'],
  ['attribution', "Attribution (as in 'convert')"],
  ['rest', 'Pass-through and the rest'],
];

const WIDTH = 88;
const INDENT = 28;

/** `  --flag ARG` padded, then the text wrapped under it. */
function helpLine(head: string, text: string): string {
  const pad = ' '.repeat(INDENT);
  const lines: string[] = [];
  let line = `  ${head}`.padEnd(INDENT - 1) + ' ';
  if (line.length > INDENT) {
    lines.push(line.trimEnd());
    line = pad;
  }
  for (const word of text.split(/\s+/)) {
    if (line.length + word.length > WIDTH && line.trim() !== '') {
      lines.push(line.trimEnd());
      line = pad;
    }
    line += word + ' ';
  }
  lines.push(line.trimEnd());
  return lines.join('\n');
}

function helpFor(s: Setting): string {
  const env = s.env?.[0];
  const def =
    s.helpDefault ??
    (s.default === undefined || s.default === false ? undefined : valueText(s, s.default, false));
  const serveDef = s.modeDefaults?.serve === undefined ? def : valueText(s, s.modeDefaults.serve, false);
  const notes = [
    env === undefined ? undefined : `$${env}`,
    serveDef === undefined ? undefined : `default ${serveDef}`,
  ];
  const suffix = notes.filter((n) => n !== undefined).join(', ');
  const head = s.flag === undefined ? `$${env}` : `${flagText(s)!}${s.arg ? ` ${s.arg}` : ''}`;
  const text = s.flag === undefined ? s.help! : `${s.help!}${suffix ? ` (${suffix})` : ''}`;
  return helpLine(head, text);
}

const CONFIG_HELP =
  'JSON file with any of the settings above, named as in the README (e.g. {"spoolDir": "/var/lib/fenra", ' +
  '"traceWaitMillis": 5000, "spoolMaxBytes": 536870912}): sizes in bytes, times in ms; a wrong type is an ' +
  'error. Flags beat environment variables, which beat the file';

const INTRO = `Usage: fenra-otel serve [options]

Runs an OTLP receiver (HTTP on 4318, gRPC on 4317). Point any OpenTelemetry SDK or
Collector at it (OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318): it reads the LLM spans, waits
for each trace's root span to learn the customer, prices every provider call and
sends the transactions to Fenra. Other spans are not kept (see --forward).

With no API key ($FENRA_API_KEY or --api-key-file) it runs in LOCAL MODE:
transactions are written to <data dir>/transactions.jsonl instead (see them at
http://127.0.0.1:4318/ or with 'fenra-otel report').
`;

const OUTRO = `
Endpoints: POST /v1/traces (protobuf or JSON, gzip or not), OTLP/gRPC
TraceService/Export on --grpc-port (gzip or not), GET / (inspector page),
GET /inspector/summary.json, GET /healthz, GET /readyz, GET /metrics (Prometheus).
SECURITY.md says who can reach which route, and what is kept where.
`;

/** `fenra-otel serve --help`: every `serve` setting, by group, with its variable and default. */
export function renderServeHelp(): string {
  const serve = settingsOf('serve').map(([, s]) => s);
  const parts = [INTRO];
  for (const [group, title] of GROUPS) {
    const lines = serve.filter((s) => s.group === group).map(helpFor);
    if (group === 'rest')
      lines.push(helpLine('--config FILE', CONFIG_HELP), helpLine('-h, --help', 'this help'));
    parts.push(`\n${title}:\n${lines.join('\n')}\n`);
  }
  parts.push(OUTRO);
  return parts.join('');
}
