import type { EnvSource } from '../config/env.js';
import type { PricedTransaction } from '../genai/priced-transaction.js';
import type { BackfillOptions } from '../local/backfill.js';
import { backfill } from '../local/backfill.js';
import type { CliStreams } from './convert.js';
import { progressReporter } from './progress.js';

/**
 * `convert --send`: delivers the converted transactions (to Fenra with FENRA_API_KEY, else to
 * the local sink), with progress on standard error. Exit code 0 when every transaction was
 * accepted, 1 otherwise.
 */
export async function sendConverted(
  transactions: readonly PricedTransaction[],
  spansRead: number,
  o: {
    io: CliStreams;
    env: EnvSource;
    dataDir?: string | undefined;
    tty?: boolean;
    pipelineDeps?: BackfillOptions['pipelineDeps'];
  },
): Promise<number> {
  const err = o.io.stderr;
  if (o.env['FENRA_API_KEY']?.trim()) {
    err.write(`fenra-otel convert: sending ${transactions.length} transaction(s) to Fenra\n`);
  } else {
    err.write(
      `fenra-otel convert: no FENRA_API_KEY: LOCAL MODE, writing ${transactions.length} transaction(s) to the local sink\n`,
    );
  }
  const progress = progressReporter(err, spansRead, o.tty === undefined ? {} : { tty: o.tty });
  const r = await backfill(transactions, {
    env: o.env,
    dataDir: o.dataDir,
    onProgress: (p) => progress.update(p),
    ...(o.pipelineDeps ? { pipelineDeps: o.pipelineDeps } : {}),
  });
  progress.done(r);
  if (r.stoppedBecause) err.write(`fenra-otel convert: stopped: ${r.stoppedBecause}\n`);
  err.write(
    `fenra-otel convert: ${r.sent} of ${r.total} transaction(s) ${r.mode === 'local' ? 'written to' : 'accepted by'} ${r.destination}` +
      (r.failed ? `, ${r.failed} refused` : '') +
      (r.dropped ? `, ${r.dropped} not delivered` : '') +
      (r.mode === 'local' ? `; see them with 'fenra-otel report'` : '') +
      '\n',
  );
  return r.sent === r.total ? 0 : 1;
}
