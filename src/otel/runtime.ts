import { diag } from '@opentelemetry/api';
import type { FenraOptions } from '../config/options.js';
import { resolveConfig } from '../config/resolve.js';
import type { ResolvedConfig } from '../config/options.js';
import type { PricedTransaction } from '../genai/priced-transaction.js';
import type { ConversionOptions } from '../genai/to-transactions.js';
import type { MeterBinding } from '../internal/meter-binding.js';
import { errorText } from '../internal/safe.js';
import { KeepAlive } from '../internal/timers.js';
import type { DeliveryPipelineDeps } from '../pipeline/delivery-pipeline.js';
import { DeliveryPipeline } from '../pipeline/delivery-pipeline.js';
import type { PipelineStats } from '../pipeline/stats.js';
import { PriceBook } from '../pricing/price-book.js';
import type { ConversionStats } from './span-converter.js';
import { emptyConversionStats } from './span-converter.js';
import { observeConversion } from './conversion-metrics.js';

export type { FenraOptions };

const log = diag.createComponentLogger({ namespace: '@fenra/otel' });

/**
 * What the processor and the exporter share: resolved configuration, the converter's options
 * (price book, attribution keys), conversion counters and the delivery pipeline.
 *
 * `enabled` is false when disabled or without an API key: the processor and the exporter then
 * return at once for every span (nothing converted, priced or held); the missing key is
 * warned about once per process (diag and a process warning).
 */
export class FenraRuntime {
  readonly config: ResolvedConfig;
  readonly enabled: boolean;
  readonly stats: ConversionStats = emptyConversionStats();
  readonly conversion: ConversionOptions;
  /** Timers of the pipeline and of the owner's own waits: ref'd only while a flush is awaited. */
  readonly keepAlive: KeepAlive;
  private readonly _pipeline: DeliveryPipeline;
  private readonly _metrics: MeterBinding | undefined;
  private _internalErrors = 0;
  private _shutdown: Promise<void> | undefined;

  constructor(options: FenraOptions | undefined, deps: DeliveryPipelineDeps = {}) {
    // Invalid options in code throw here, once, with a readable message (ConfigurationError).
    this.config = resolveConfig(options, undefined, { processWarnings: true });
    this.enabled = !this.config.disabled && this.config.apiKey !== undefined;
    this.keepAlive = deps.keepAlive ?? new KeepAlive();
    this.conversion = {
      pricer: new PriceBook({ overrides: this.config.priceOverrides }),
      defaultCustomerId: this.config.billableCustomerId,
      customerIdKeys: this.config.customerIdKeys,
      contextKeys: this.config.contextKeys,
      azureDeployments: this.config.azureDeployments,
    };
    this._pipeline = new DeliveryPipeline(this.config, {
      processWarnings: true,
      ...deps,
      keepAlive: this.keepAlive,
    });
    if (this.enabled) this._metrics = observeConversion(this.config.meterProvider, () => this.stats);
  }

  enqueue(items: readonly PricedTransaction[]): void {
    this._pipeline.enqueue(items);
  }

  /** Queues and waits for Fenra's answer (bounded by `exportTimeoutMillis`); never rejects. */
  enqueueAndWait(items: readonly PricedTransaction[]): Promise<void> {
    return this._pipeline.enqueueAndWait(items);
  }

  /** Follows a global MeterProvider registered after construction. Off the span path. */
  refreshMetrics(): void {
    this._metrics?.refresh();
    this._pipeline.refreshMetrics();
  }

  /** The flush limit, ms: bounds every wait of `forceFlush()` and of `shutdown()`'s flush. */
  get flushTimeoutMillis(): number {
    return this._pipeline.flushTimeoutMillis;
  }

  /** A bug of ours met at run time: logged (rarely), counted, never thrown into the app. */
  internalError(e: unknown): void {
    this._internalErrors++;
    if (this._internalErrors === 1 || this._internalErrors % 1000 === 0) {
      log.error(`internal error while converting a span (${this._internalErrors} so far): ${errorText(e)}`);
    }
  }

  get internalErrors(): number {
    return this._internalErrors;
  }

  /**
   * Waits for `work` at most `ms` (the process is kept alive meanwhile, like every awaited
   * flush); true when it settled in time. Never rejects.
   */
  async boundedWait(work: Promise<unknown>, ms: number): Promise<boolean> {
    const ka = this.keepAlive;
    return ka.hold(() => ka.race(work, ms));
  }

  /** Flushes, spending at most `timeoutMs` (default: the flush limit). */
  forceFlush(timeoutMs = this.flushTimeoutMillis): Promise<void> {
    if (this._shutdown !== undefined) return this._shutdown;
    this.refreshMetrics();
    return this._pipeline
      .forceFlush(Math.max(0, timeoutMs))
      .catch((e: unknown) => log.error(`forceFlush failed: ${errorText(e)}`));
  }

  /** Once: later calls return the same promise. */
  shutdown(): Promise<void> {
    this._shutdown ??= this._pipeline
      .shutdown()
      .catch((e: unknown) => log.error(`shutdown failed: ${errorText(e)}`));
    return this._shutdown;
  }

  deliveryStats(): PipelineStats {
    return this._pipeline.stats();
  }
}
