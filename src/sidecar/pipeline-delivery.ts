import type { DeliveryConfig } from '../pipeline/delivery-config.js';
import type { PricedTransaction } from '../stage/priced-transaction.js';
import type {
  DeliveryPipelineDeps,
  Settlement as PipelineSettlement,
} from '../pipeline/delivery-pipeline.js';
import { DeliveryPipeline } from '../pipeline/delivery-pipeline.js';
import type { DeliveryStats, Settlement, TransactionDelivery } from './delivery.js';

type Callback = (item: PricedTransaction, s: Settlement) => void;

function toSettlement(o: PipelineSettlement): Settlement {
  if (o.kind === 'accepted') return { outcome: 'accepted' };
  if (o.kind === 'failed') return { outcome: 'rejected', reason: o.reason };
  return { outcome: 'dropped', reason: o.reason };
}

/**
 * The sidecar's delivery to Fenra over the shared `DeliveryPipeline` (batching, retries with
 * backoff and `Retry-After`, 207 per transaction, 401 pause-and-probe), with the delivery
 * settings `serve` resolved (`ServeConfig.delivery`). The sidecar refuses new work (429)
 * rather than let the pipeline drop it: `send` takes nothing when the pipeline's queue has no
 * room. Settlements are reported per transaction.
 */
export class PipelineDelivery implements TransactionDelivery {
  private readonly _pipeline: DeliveryPipeline;
  private readonly _callbacks = new Map<PricedTransaction, Callback>();

  /** `deps.flushTimeoutMillis`: the bound of a flush (shutdown), ms. */
  constructor(config: DeliveryConfig, deps: Omit<DeliveryPipelineDeps, 'onSettled'> = {}) {
    this._pipeline = new DeliveryPipeline(config, {
      ...deps,
      onSettled: (items, outcome) => {
        const s = toSettlement(outcome);
        for (const item of items) {
          const cb = this._callbacks.get(item);
          if (!cb) continue;
          this._callbacks.delete(item);
          cb(item, s);
        }
      },
    });
  }

  send(items: readonly PricedTransaction[], onSettled: Callback): boolean {
    if (this._pipeline.spaceLeft() < items.length) return false;
    for (const item of items) this._callbacks.set(item, onSettled);
    this._pipeline.enqueue(items);
    return true;
  }

  async forceFlush(deadlineMillis: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((r) => (timer = setTimeout(r, deadlineMillis)));
    await Promise.race([this._pipeline.forceFlush(), bound]);
    clearTimeout(timer);
  }

  shutdown(): Promise<void> {
    return this._pipeline.shutdown();
  }

  stats(): DeliveryStats {
    const s = this._pipeline.stats();
    return {
      queued: s.queueDepth,
      inFlight: s.inFlight,
      accepted: s.accepted,
      rejected: s.failed.rejected + s.failed.http_error,
      retries: s.retries,
      requests: s.requests,
      keyRejected: s.state === 'unauthorized' || (s.state === 'disabled' && s.dropped.no_api_key > 0),
    };
  }
}
