import type { DeliveryConfig } from '../pipeline/delivery-config.js';
import { fenraSender } from '../fenra/client.js';
import { displayUrl } from '../internal/display-url.js';
import type { PricedTransaction } from '../stage/priced-transaction.js';
import type { DeliveryPipelineDeps } from '../pipeline/delivery-config.js';
import { DeliveryPipeline } from '../pipeline/delivery-pipeline.js';
import type { TransactionSender } from '../pipeline/sender.js';
import { LocalSink, LocalSinkSender } from './sink.js';

/**
 * Back-fill (`convert --send`): delivers converted transactions as the conversion produces them,
 * reporting progress, through the one delivery pipeline (batching, retries, 207/400 handling, a
 * bounded queue fed as fast as it drains: the input is read no faster than the destination
 * takes it). With an API key the sender is Fenra's; without one, the local sink's.
 */
export interface BackfillProgress {
  /** Transactions produced so far (the final count once the input has been read). */
  total: number;
  /** Accepted by Fenra, or written to the local sink. */
  sent: number;
  /** Refused for good (schema, 400, non-retryable 207 item). */
  failed: number;
  /** Never delivered (retries exhausted at the end, shutdown). */
  dropped: number;
  elapsedMs: number;
  /** The input is still being read: `total` still grows. */
  reading?: boolean;
  /** Spans read so far. */
  spansRead?: number;
  /** Share of the input read, when its size is known (a file, not standard input). */
  inputFraction?: number;
  /** Why delivery is not getting through right now (its cause), while it is not. */
  problem?: string;
}

export interface BackfillResult extends BackfillProgress {
  mode: 'fenra' | 'local';
  /** Of `sent`: accepted after an attempt whose answer was lost (a copy may be at the destination). */
  possibleDuplicates: number;
  destination: string;
  /** Set when the run stopped early (e.g. Fenra refused the API key). */
  stoppedBecause?: string;
  /** What was not delivered and why, when something was not. */
  undeliveredWhy?: string;
}

/** What the producer of the transactions reports about its input. */
export interface InputState {
  spansRead: number;
  fraction?: number | undefined;
}

export interface BackfillOptions {
  /** Delivery as `convert --send` resolved it (no API key: the local sink). */
  config: DeliveryConfig;
  /** Local sink directory when there is no API key (`--data-dir`, else FENRA_DATA_DIR or .fenra). */
  dataDir: string;
  onProgress?: (p: BackfillProgress) => void;
  /** How far the input has been read, for progress. */
  input?: () => InputState;
  /** Pipeline dependencies (tests). */
  pipelineDeps?: Omit<DeliveryPipelineDeps, 'sender' | 'onSettled'>;
  now?: () => number;
}

export type TransactionSource =
  | readonly PricedTransaction[]
  | Iterable<readonly PricedTransaction[]>
  | AsyncIterable<readonly PricedTransaction[]>;

async function* chunksOf(source: TransactionSource): AsyncGenerator<readonly PricedTransaction[]> {
  if (Array.isArray(source)) {
    if (source.length > 0) yield source as readonly PricedTransaction[];
    return;
  }
  yield* source as AsyncIterable<readonly PricedTransaction[]>;
}

export async function backfill(source: TransactionSource, o: BackfillOptions): Promise<BackfillResult> {
  const now = o.now ?? Date.now;
  const start = now();
  const config = o.config;
  const progress: BackfillProgress = { total: 0, sent: 0, failed: 0, dropped: 0, elapsedMs: 0 };
  let problem = (): string | undefined => undefined;
  const report = (reading: boolean): void => {
    progress.elapsedMs = now() - start;
    const input = o.input?.();
    const why = problem();
    o.onProgress?.({
      ...progress,
      ...(why === undefined ? {} : { problem: why }),
      ...(reading ? { reading } : {}),
      ...(input === undefined
        ? {}
        : {
            spansRead: input.spansRead,
            ...(input.fraction === undefined ? {} : { inputFraction: input.fraction }),
          }),
    });
  };
  report(true);

  let sender: TransactionSender | undefined;
  let destination: string;
  if (config.apiKey === undefined && !config.disabled) {
    const sink = new LocalSink({ dir: o.dataDir });
    sender = new LocalSinkSender(sink);
    destination = sink.file;
  } else {
    sender = fenraSender(config);
    destination = config.endpoint;
  }
  // What the summary shows: a URL without its credentials.
  const shownDestination = destination === config.endpoint ? displayUrl(destination) : destination;

  let wake: (() => void) | undefined;
  const pipeline = new DeliveryPipeline(config, {
    mode: 'convert',
    ...o.pipelineDeps,
    sender,
    endpoint: destination,
    onSettled: (group, outcome) => {
      if (outcome.kind === 'accepted') progress.sent += group.length;
      else if (outcome.kind === 'failed') progress.failed += group.length;
      else progress.dropped += group.length;
      report(true);
      wake?.();
    },
  });
  problem = () => pipeline.notices.problem;
  const settled = (): number => progress.sent + progress.failed + progress.dropped;
  const waitForSettlement = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        wake = undefined;
        resolve();
      }
      wake = done;
    });
  const refused = (): string | undefined => blockedBecause(pipeline, config);

  let stoppedBecause: string | undefined;
  let queued = 0;
  input: for await (const chunk of chunksOf(source)) {
    progress.total += chunk.length;
    let next = 0;
    while (next < chunk.length) {
      stoppedBecause = refused();
      if (stoppedBecause !== undefined) {
        // What was converted but never queued is not delivered; the rest of the input is not read.
        progress.dropped += chunk.length - next;
        break input;
      }
      const room = pipeline.spaceLeft();
      if (room > 0) {
        const part = chunk.slice(next, next + room);
        next += part.length;
        queued += part.length;
        pipeline.enqueue(part);
      } else await waitForSettlement(1_000);
    }
  }
  // Everything is queued: flush until all is settled, the key is refused, or a flush gets nowhere.
  while (stoppedBecause === undefined && settled() < queued) {
    const before = settled();
    await pipeline.forceFlush();
    stoppedBecause = refused();
    if (stoppedBecause !== undefined) break;
    // Refused in every part, not yet by a probe: its answer decides.
    if (pipeline.state === 'rejecting_all') await waitForSettlement(1_000);
    else if (settled() === before) break;
  }
  await pipeline.shutdown();
  progress.elapsedMs = now() - start;
  report(false);
  const undeliveredWhy = progress.sent < progress.total ? pipeline.notices.cause : undefined;
  return {
    ...progress,
    mode: config.apiKey === undefined ? 'local' : 'fenra',
    possibleDuplicates: pipeline.stats().possibleDuplicates,
    destination: shownDestination,
    ...(stoppedBecause === undefined ? {} : { stoppedBecause }),
    ...(undeliveredWhy === undefined ? {} : { undeliveredWhy }),
  };
}

/**
 * Why sending stopped for a configuration error Fenra answered (the pipeline keeps the data).
 * A batch refused in every part stops the run only once a probe, made of other transactions,
 * was refused too: a batch of nothing but bad transactions is not a fault of Fenra's.
 */
function blockedBecause(pipeline: DeliveryPipeline, config: DeliveryConfig): string | undefined {
  const names = config.settingNames;
  const state = pipeline.state;
  if (state === 'unauthorized') return `Fenra refused the API key (401): check ${names.apiKey}`;
  if (state === 'rejecting_all' && pipeline.refusedProbes > 0)
    return (
      `Fenra refused every transaction tried, in every attempt, and accepted nothing meanwhile (${pipeline.blockMessage}): ` +
      'a fault on its side, or every transaction left is refused by its rules; none was failed for good; try again later'
    );
  if (state === 'endpoint_rejected')
    return `the endpoint is not Fenra's usage-transactions URL (404/405/redirect): check ${names.endpoint}`;
  return undefined;
}
