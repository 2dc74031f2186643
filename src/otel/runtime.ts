import { diag } from '@opentelemetry/api';
import type { FenraOptions } from '../config/options.js';
import { resolveConfig } from '../config/resolve.js';
import type { ResolvedConfig } from '../config/options.js';
import type { PricedTransaction } from '../genai/priced-transaction.js';
import type { ConversionOptions } from '../genai/to-transactions.js';
import { errorText } from '../internal/safe.js';
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
 */
export class FenraRuntime {
  readonly config: ResolvedConfig;
  readonly enabled: boolean;
  readonly stats: ConversionStats = emptyConversionStats();
  readonly conversion: ConversionOptions;
  private readonly _pipeline: DeliveryPipeline;
  private _internalErrors = 0;
  private _shutdown: Promise<void> | undefined;

  constructor(options: FenraOptions | undefined, deps: DeliveryPipelineDeps = {}) {
    // Invalid options in code throw here, once, with a readable message (ConfigurationError).
    this.config = resolveConfig(options);
    this.enabled = !this.config.disabled;
    this.conversion = {
      pricer: new PriceBook({ overrides: this.config.priceOverrides }),
      defaultCustomerId: this.config.billableCustomerId,
      customerIdKeys: this.config.customerIdKeys,
      contextKeys: this.config.contextKeys,
      azureDeployments: this.config.azureDeployments,
    };
    this._pipeline = new DeliveryPipeline(this.config, deps);
    if (this.enabled) observeConversion(this.config.meterProvider, () => this.stats);
  }

  enqueue(items: readonly PricedTransaction[]): void {
    this._pipeline.enqueue(items);
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

  forceFlush(): Promise<void> {
    if (this._shutdown !== undefined) return this._shutdown;
    return this._pipeline.forceFlush().catch((e: unknown) => log.error(`forceFlush failed: ${errorText(e)}`));
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
