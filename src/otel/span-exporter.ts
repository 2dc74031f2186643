import type { ExportResult } from '@opentelemetry/core';
import { ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { inProcessConfig } from '../config/library.js';
import { safely } from '../internal/safe.js';
import type { Scheduler } from '../internal/scheduler.js';
import { fromReadableSpan } from '../span/from-readable-span.js';
import type { FenraOptions } from './runtime.js';
import { FenraRuntime } from './runtime.js';
import type { FenraStats } from './span-processor.js';

/** Extra options of the exporter. */
export interface FenraSpanExporterOptions extends FenraOptions {
  /**
   * How long a GenAI span waits for its trace's local root span (which carries the customer id
   * and ends last) before it is converted with what has arrived, ms: a non-negative integer.
   * A span whose parent is remote (an incoming `traceparent`) is a local root. Env
   * `FENRA_TRACE_WAIT_MILLIS`. Default 10000.
   */
  traceWaitMillis?: number;
}

/**
 * An OpenTelemetry `SpanExporter` for pipelines that already batch spans (inside your own
 * `BatchSpanProcessor`). Each export batch is one delivery to the same conversion stage as
 * every other mode: a trace's calls wait for its local root span (or `traceWaitMillis`) to find
 * the customer id on the ancestors and to bill each provider call once.
 *
 * `export()` reports its result once Fenra has answered for the transactions that batch
 * completed (accepted, refused or counted as dropped), or once sending is paused (refused key
 * or endpoint, retry budget used up), bounded by `exportTimeoutMillis`; so
 * `provider.forceFlush()` through a `BatchSpanProcessor` returns after delivery, as serverless
 * functions need. GenAI spans still waiting for their root are not waited for (the root
 * normally comes in a later batch and releases them). The result is SUCCESS (what Fenra did with
 * each transaction is in `stats()`), FAILED only after `shutdown()`.
 */
export class FenraSpanExporter implements SpanExporter {
  private readonly _runtime: FenraRuntime;
  private _shutdown: Promise<void> | undefined;

  /** @param internal for tests only: the clock and timers of trace holding. */
  constructor(options: FenraSpanExporterOptions = {}, internal?: { scheduler?: Scheduler }) {
    const config = inProcessConfig(options, true);
    this._runtime = new FenraRuntime(config, {
      traceWaitMillis: config.traceWaitMillis,
      scheduler: internal?.scheduler,
    });
    // What it holds (traces waiting for their root, the queue) is delivered at exit too.
    this._runtime.flushAtExit(
      () => this.forceFlush(),
      () => false,
    );
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    if (this._shutdown !== undefined) {
      resultCallback({
        code: ExportResultCode.FAILED,
        error: new Error('FenraSpanExporter has been shut down'),
      });
      return;
    }
    const rt = this._runtime;
    let completed: ReturnType<FenraRuntime['collect']> = [];
    if (rt.enabled) {
      completed = rt.collect(() => {
        rt.stats.spansSeen += spans.length;
        rt.stage.ingest(spans.map(fromReadableSpan));
      });
      rt.refreshMetrics();
    }
    if (completed.length === 0) {
      resultCallback({ code: ExportResultCode.SUCCESS });
      return;
    }
    void rt.enqueueAndWait(completed).then(() =>
      safely(
        () => resultCallback({ code: ExportResultCode.SUCCESS }),
        (e) => rt.internalError(e),
        undefined,
      ),
    );
  }

  /** Converts everything held (without waiting for roots) and sends it. Never rejects. */
  forceFlush(): Promise<void> {
    if (this._shutdown !== undefined) return this._shutdown;
    return this._runtime.forceFlush();
  }

  /** Converts what is held, flushes, then closes. Once; later calls return the same promise. */
  shutdown(): Promise<void> {
    this._shutdown ??= this._runtime.shutdown();
    return this._shutdown;
  }

  stats(): FenraStats {
    const rt = this._runtime;
    return {
      ...structuredClone(rt.stats),
      internalErrors: rt.internalErrors,
      pendingTraces: rt.stage.heldTraces,
      delivery: rt.deliveryStats(),
    };
  }
}
