import { join, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { diag } from '@opentelemetry/api';
import type { EnvSource } from '../config/env.js';
import { processEnv } from '../config/env.js';
import type { ServeConfig } from '../config/serve.js';
import { displayUrl } from '../internal/display-url.js';
import { toTransactions } from '../stage/to-transactions.js';
import { PriceBook } from '../pricing/price-book.js';
import type { RunningSidecar, SidecarDeps } from '../sidecar/sidecar.js';
import { createInspector, routeInspector } from './inspector/index.js';
import { droppedFromMetrics } from './inspector/summary.js';
import type { DemoTrace } from './demo.js';
import { demoTracesDir, loadDemoTraces, runDemo } from './demo.js';
import { Ledger, toRow } from './ledger.js';
import type { LocalRecord } from './records.js';
import { LocalSink, LocalSinkSender } from './sink.js';

/**
 * What `fenra-otel serve` adds for a newcomer: with no API key, LOCAL MODE (transactions go
 * to `<data dir>/transactions.jsonl` instead of Fenra); in every mode, the inspector page on
 * the receiver's port; with `--demo`, the bundled recorded traces replayed through the real
 * OTLP exporter. `serve` calls {@link prepareServeExtras} before starting the sidecar and
 * `afterStart` once it listens.
 */
export interface ServeExtrasInput {
  config: ServeConfig;
  /** Overrides `config.dataDir` (`--data-dir`, else `FENRA_DATA_DIR`, else `.fenra`). */
  dataDir?: string | undefined;
  /** Overrides `config.demo` (`--demo`): replay the bundled traces. Local mode only (see {@link DEMO_NEEDS_LOCAL_MODE}). */
  demo?: boolean;
  env?: Readonly<Record<string, string | undefined>>;
  /** The CLI's script and working directory, to tell how to run it again (default: this process's). */
  argv1?: string | undefined;
  cwd?: string;
  stdout: Writable;
  /** Demo pacing (tests). */
  demoExtra?: number;
  demoIntervalMillis?: number;
  /** Longest wait, after the demo's last trace, for its transactions to be written (ms). */
  demoSettleMillis?: number;
}

/**
 * Why `--demo` does not run with an API key: the demo's transactions are made up (recorded
 * traces replayed as new calls) and must never reach a real Fenra account.
 */
export const DEMO_NEEDS_LOCAL_MODE =
  'fenra-otel: --demo ignored: FENRA_API_KEY is set, and the demo only ever writes to the local sink ' +
  '(its made-up transactions must not reach your Fenra account). Unset FENRA_API_KEY to see the demo; ' +
  'the sidecar runs on, sending real traffic to Fenra.';

export interface ServeExtras {
  mode: 'local' | 'fenra';
  /** Pass to `startSidecar`. */
  deps: SidecarDeps;
  sink: LocalSink | undefined;
  ledger: Ledger;
  afterStart(sidecar: RunningSidecar): void;
  /** Stops the demo (if running) and waits for it. */
  stop(): Promise<void>;
}

const log = diag.createComponentLogger({ namespace: '@fenra/otel/local' });

/** Billed transactions printed one per line in local mode, before only the inspector shows them. */
const MAX_PRINTED = 40;

/**
 * One line for a billed transaction: customer, provider/model, tokens with their cache and
 * reasoning parts (they are priced differently: without them two prices look inconsistent),
 * estimated USD.
 */
export function describeRecord(r: LocalRecord): string {
  const row = toRow(r);
  const cache = [
    row.cacheReadTokens ? `${row.cacheReadTokens} cache read` : '',
    row.cacheWriteTokens ? `${row.cacheWriteTokens} cache write` : '',
  ].filter(Boolean);
  return (
    `${row.customer}  ${row.provider}/${row.model}  ` +
    `${row.inputTokens} in${cache.length ? ` (${cache.join(', ')})` : ''} / ` +
    `${row.outputTokens} out${row.reasoningTokens ? ` (${row.reasoningTokens} reasoning)` : ''}  ` +
    (row.usd === null ? `unpriced (${row.unpricedReason})` : `$${row.usd.toFixed(6)}`)
  );
}

/** The URL an app on this machine should use for a listening address. */
export function localUrl(address: { host: string; port: number }): string {
  const host =
    address.host === '0.0.0.0' || address.host === '::' || address.host === ''
      ? '127.0.0.1'
      : address.host.includes(':')
        ? `[${address.host}]`
        : address.host;
  return `http://${host}:${address.port}`;
}

/**
 * How to run the CLI again: inside this package's own checkout (`npm start` there, or its bin
 * file run from its root), `node bin/fenra-otel.js`; anywhere else (installed in a project),
 * `npx fenra-otel`.
 */
export function cliName(
  env: EnvSource = processEnv(),
  argv1: string | undefined = process.argv[1],
  cwd: string = process.cwd(),
): string {
  const inCheckout =
    env['npm_package_name'] === '@fenra/otel' ||
    (argv1 !== undefined && resolve(cwd, argv1) === join(resolve(cwd), 'bin', 'fenra-otel.js'));
  return inCheckout ? 'node bin/fenra-otel.js' : 'npx fenra-otel';
}

/** How many transactions each demo trace bills (the pure converter over the same spans). */
function billableCounts(traces: readonly DemoTrace[]): Map<string, number> {
  const pricer = new PriceBook();
  return new Map(traces.map((t) => [t.name, toTransactions(t.spans, { pricer }).transactions.length]));
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host) || host === '::ffff:127.0.0.1';
}

export async function prepareServeExtras(i: ServeExtrasInput): Promise<ServeExtras> {
  const local = !i.config.apiKey;
  // The page shows customer ids and spend, without the receiver's token: in front of a network
  // (a Fenra-mode sidecar on 0.0.0.0) it stays off. It is the ledger's only reader there.
  const inspector = local || isLoopback(i.config.host);
  const ledger = new Ledger();
  let sink: LocalSink | undefined;
  const deps: SidecarDeps = {};
  if (local) {
    sink = new LocalSink({ dir: i.dataDir ?? i.config.dataDir, ledger });
    await sink.open();
    // The same delivery pipeline as for Fenra, with the local sink as its sender.
    deps.sender = new LocalSinkSender(sink);
    deps.destination = `local sink ${sink.file}`;
  } else if (inspector) {
    // The inspector shows what Fenra accepted since the sidecar started (in memory only).
    deps.onSettled = (items, outcome) => {
      if (outcome.kind !== 'accepted') return;
      ledger.addPriced(items, Date.now());
    };
  }
  const abort = new AbortController();
  let demo: Promise<unknown> | undefined;
  const out = (line: string): void => {
    i.stdout.write(line + '\n');
  };

  return {
    mode: local ? 'local' : 'fenra',
    deps,
    sink,
    ledger,
    afterStart(sidecar) {
      const base = localUrl(sidecar.address);
      if (inspector) {
        routeInspector(
          sidecar.server,
          createInspector({
            ledger,
            mode: local ? 'local' : 'fenra',
            destination: sink?.file ?? displayUrl(i.config.endpoint),
            otlpEndpoint: base,
            dropped: () => droppedFromMetrics(sidecar.metrics.render()),
          }),
        );
      } else
        log.info(
          `inspector not served: listening on ${sidecar.address.host} (it is served on a loopback address, or in local mode)`,
        );
      out('');
      if (local) {
        let shown = 0;
        sink!.onRecord((r) => {
          shown++;
          if (shown <= MAX_PRINTED) out(`billed: ${describeRecord(r)}`);
          else if (shown === MAX_PRINTED + 1)
            out(`billed: … more transactions: see the inspector or 'report' (not printed any more)`);
        });
        out(`fenra-otel: LOCAL MODE (no FENRA_API_KEY): transactions are written to ${sink!.file}`);
        if (ledger.count) out(`            (${ledger.count} transaction(s) from earlier runs)`);
      } else out(`fenra-otel: sending transactions to ${displayUrl(i.config.endpoint)}`);
      out(`  point your app at it:   OTEL_EXPORTER_OTLP_ENDPOINT=${base}`);
      if (inspector) out(`  inspector:              ${base}/`);
      // `report` reads the local sink: only local mode writes it.
      if (local) out(`  totals in the terminal: ${cliName(i.env, i.argv1, i.cwd)} report --by customer`);
      out('');
      const wantsDemo = i.demo ?? i.config.demo;
      if (wantsDemo && !local) {
        out(DEMO_NEEDS_LOCAL_MODE);
        log.warn('--demo ignored: an API key is set (the demo only writes to the local sink)');
        return;
      }
      if (wantsDemo) {
        const dir = demoTracesDir();
        const traces = dir ? loadDemoTraces(dir) : [];
        if (traces.length === 0) {
          out('fenra-otel: --demo: no bundled demo traces found (examples/demo-traces)');
          return;
        }
        const extra = i.demoExtra ?? 20;
        const perTrace = billableCounts(traces);
        let expected = ledger.count;
        out(
          `demo: replaying ${traces.length} recorded GenAI traces through the OTLP exporter to ${base}/v1/traces` +
            (extra ? `, then ${extra} more over the next minute` : ''),
        );
        demo = runDemo({
          url: `${base}/v1/traces`,
          traces,
          headers: i.config.receiverToken ? { authorization: `Bearer ${i.config.receiverToken}` } : {},
          extra,
          intervalMillis: i.demoIntervalMillis ?? 3_000,
          signal: abort.signal,
          onSent: (name, ok, error) => {
            if (ok) expected += perTrace.get(name) ?? 0;
            else out(`demo: ${name}: not sent (${error?.message ?? 'export failed'})`);
          },
        }).then(
          async (r) => {
            // The sidecar acknowledges a trace before its transactions are written (they wait
            // for the batch): count once the last ones are in, or after a bounded wait.
            if (!abort.signal.aborted)
              await settled(
                sink!,
                () => ledger.count >= expected,
                i.demoSettleMillis ?? 15_000,
                abort.signal,
              );
            const sent = `${r.sent} trace(s) sent${r.failed ? `, ${r.failed} failed` : ''}`;
            out(
              abort.signal.aborted
                ? `demo: stopped, ${sent}`
                : `demo: done, ${sent}; ${ledger.count} transaction(s) billed in all. The sidecar keeps running (Ctrl+C to stop).`,
            );
          },
          (e: unknown) => log.error(`demo failed: ${(e as Error).message}`),
        );
      }
    },
    async stop() {
      abort.abort();
      await demo;
    },
  };
}

/** Resolves once `done()` holds (checked at each record written), at the bound, or on abort. */
function settled(sink: LocalSink, done: () => boolean, limitMs: number, signal: AbortSignal): Promise<void> {
  if (done()) return Promise.resolve();
  return new Promise((resolve) => {
    const finish = (): void => {
      clearTimeout(timer);
      off();
      signal.removeEventListener('abort', finish);
      resolve();
    };
    const timer = setTimeout(finish, limitMs);
    const off = sink.onRecord(() => {
      if (done()) finish();
    });
    signal.addEventListener('abort', finish, { once: true });
  });
}
