import type { DeliveryConfig } from '../pipeline/delivery-config.js';
import type { BackfillOptions, InputState, TransactionSource } from '../local/backfill.js';
import { backfill } from '../local/backfill.js';
import type { CliStreams } from './convert.js';
import { progressReporter } from './progress.js';

/**
 * `convert --send`: delivers the transactions as the conversion produces them (to Fenra with
 * FENRA_API_KEY, else to the local sink), with progress on standard error. Exit code 0 when
 * every transaction was accepted, 1 otherwise.
 */
export async function sendConverted(
  transactions: TransactionSource,
  o: {
    io: CliStreams;
    /** Delivery as `convert` resolved it. */
    config: DeliveryConfig;
    dataDir: string;
    /** How far the input has been read. */
    input?: () => InputState;
    tty?: boolean;
    pipelineDeps?: BackfillOptions['pipelineDeps'];
  },
): Promise<number> {
  const err = o.io.stderr;
  if (o.config.apiKey !== undefined) {
    err.write(`fenra-otel convert: sending the transactions to Fenra as they are converted\n`);
  } else {
    err.write(
      `fenra-otel convert: no FENRA_API_KEY: LOCAL MODE, writing the transactions to the local sink\n`,
    );
  }
  const progress = progressReporter(err, 0, o.tty === undefined ? {} : { tty: o.tty });
  const r = await backfill(transactions, {
    config: o.config,
    dataDir: o.dataDir,
    onProgress: (p) => progress.update(p),
    ...(o.input ? { input: o.input } : {}),
    ...(o.pipelineDeps ? { pipelineDeps: o.pipelineDeps } : {}),
  });
  const spansRead = o.input?.().spansRead;
  progress.done({ ...r, ...(spansRead === undefined ? {} : { spansRead }) });
  if (r.stoppedBecause) {
    err.write(`fenra-otel convert: stopped: ${r.stoppedBecause}; the rest of the input was not read\n`);
  }
  err.write(
    `fenra-otel convert: ${r.sent} of ${r.total} transaction(s) ${r.mode === 'local' ? 'written to' : 'accepted by'} ${r.destination}` +
      (r.failed ? `, ${r.failed} refused` : '') +
      (r.dropped ? `, ${r.dropped} not delivered` : '') +
      (r.possibleDuplicates
        ? `, ${r.possibleDuplicates} possible duplicate(s) (an answer was lost; their trace_id and span_id identify the copy)`
        : '') +
      (r.undeliveredWhy !== undefined && (r.dropped || r.failed) ? `: ${r.undeliveredWhy}` : '') +
      (r.mode === 'local' ? `; see them with 'fenra-otel report'` : '') +
      '\n',
  );
  return r.sent === r.total && r.stoppedBecause === undefined ? 0 : 1;
}
