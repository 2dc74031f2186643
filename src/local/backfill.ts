import type { EnvSource } from '../config/env.js';
import { resolveConfig } from '../config/resolve.js';
import type { PricedTransaction } from '../genai/priced-transaction.js';
import type { DeliveryPipelineDeps } from '../pipeline/delivery-pipeline.js';
import { DeliveryPipeline } from '../pipeline/delivery-pipeline.js';
import { defaultDataDir, LocalSink } from './sink.js';

/**
 * Back-fill (`convert --send`): delivers already converted transactions, reporting progress.
 * With an API key they go to Fenra through the shared delivery pipeline (batching, retries,
 * 207/400 handling, bounded queue fed as fast as it drains); without one, to the local sink.
 */
export interface BackfillProgress {
  total: number;
  /** Accepted by Fenra, or written to the local sink. */
  sent: number;
  /** Refused for good (schema, 400, non-retryable 207 item). */
  failed: number;
  /** Never delivered (retries exhausted at the end, shutdown). */
  dropped: number;
  elapsedMs: number;
}

export interface BackfillResult extends BackfillProgress {
  mode: 'fenra' | 'local';
  destination: string;
  /** Set when the run stopped early (e.g. Fenra refused the API key). */
  stoppedBecause?: string;
}

export interface BackfillOptions {
  env: EnvSource;
  /** Local sink directory when there is no API key (default: FENRA_DATA_DIR or .fenra). */
  dataDir?: string | undefined;
  onProgress?: (p: BackfillProgress) => void;
  /** Pipeline dependencies (tests). */
  pipelineDeps?: DeliveryPipelineDeps;
  now?: () => number;
}

const LOCAL_CHUNK = 500;

export async function backfill(
  items: readonly PricedTransaction[],
  o: BackfillOptions,
): Promise<BackfillResult> {
  const now = o.now ?? Date.now;
  const start = now();
  const config = resolveConfig({ scheduledDelayMillis: 200, maxQueueSize: 5_000 }, o.env);
  const progress: BackfillProgress = { total: items.length, sent: 0, failed: 0, dropped: 0, elapsedMs: 0 };
  const report = (): void => {
    progress.elapsedMs = now() - start;
    o.onProgress?.({ ...progress });
  };
  report();

  if (config.apiKey === undefined) {
    const sink = new LocalSink({ dir: o.dataDir ?? defaultDataDir(o.env) });
    for (let i = 0; i < items.length; i += LOCAL_CHUNK) {
      const r = await sink.append(items.slice(i, i + LOCAL_CHUNK));
      progress.sent += r.written;
      progress.failed += r.invalid.length;
      report();
    }
    return { ...progress, elapsedMs: now() - start, mode: 'local', destination: sink.file };
  }

  let wake: (() => void) | undefined;
  const pipeline = new DeliveryPipeline(config, {
    ...o.pipelineDeps,
    onSettled: (group, outcome) => {
      if (outcome.kind === 'accepted') progress.sent += group.length;
      else if (outcome.kind === 'failed') progress.failed += group.length;
      else progress.dropped += group.length;
      report();
      wake?.();
    },
  });
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

  let stoppedBecause: string | undefined;
  let next = 0;
  while (next < items.length) {
    stoppedBecause = blockedBecause(pipeline.state);
    if (stoppedBecause !== undefined) break;
    const room = pipeline.spaceLeft();
    if (room > 0) {
      const chunk = items.slice(next, next + room);
      next += chunk.length;
      pipeline.enqueue(chunk);
    } else await waitForSettlement(1_000);
  }
  // Everything is queued: flush until all is settled, the key is refused, or a flush gets nowhere.
  while (stoppedBecause === undefined && settled() < next) {
    const before = settled();
    await pipeline.forceFlush();
    stoppedBecause = blockedBecause(pipeline.state);
    if (stoppedBecause === undefined && settled() === before) break;
  }
  await pipeline.shutdown();
  // Transactions never queued because we stopped early are counted as dropped too.
  progress.dropped += items.length - next;
  progress.elapsedMs = now() - start;
  return {
    ...progress,
    mode: 'fenra',
    destination: config.endpoint,
    ...(stoppedBecause === undefined ? {} : { stoppedBecause }),
  };
}

/** Why sending stopped for a configuration error Fenra answered (the pipeline keeps the data). */
function blockedBecause(state: DeliveryPipeline['state']): string | undefined {
  if (state === 'unauthorized') return 'Fenra refused the API key (401): check FENRA_API_KEY';
  if (state === 'endpoint_rejected')
    return "the endpoint is not Fenra's usage-transactions URL (404/405/redirect): check FENRA_ENDPOINT";
  return undefined;
}
