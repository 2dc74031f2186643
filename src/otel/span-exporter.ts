import type { ExportResult } from '@opentelemetry/core';
import { ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { resolveExporterOptions } from '../config/resolve.js';
import { UNATTRIBUTED } from '../genai/context.js';
import type { PricedTransaction } from '../genai/priced-transaction.js';
import { toTransactions } from '../genai/to-transactions.js';
import { safely } from '../internal/safe.js';
import type { ResolveCause } from '../pipeline/trace-assembler.js';
import { TraceAssembler } from '../pipeline/trace-assembler.js';
import { fromReadableSpan } from '../span/from-readable-span.js';
import type { SpanView } from '../span/span-view.js';
import type { FenraOptions } from './runtime.js';
import { FenraRuntime } from './runtime.js';
import type { FenraStats } from './span-processor.js';
import { countBilled, countSkip } from './span-converter.js';

/** Extra options of the exporter. */
export interface FenraSpanExporterOptions extends FenraOptions {
  /**
   * How long a GenAI span waits for its trace's local root span (which carries the customer id
   * and ends last) before it is converted with what has arrived, ms: a non-negative integer.
   * A span whose parent is remote (an incoming `traceparent`) is a local root. Default 10000.
   */
  traceWaitMillis?: number;
}

const MAX_TRACES = 10_000;
const MAX_SPANS_PER_TRACE = 1_000;

/**
 * An OpenTelemetry `SpanExporter` for pipelines that already batch spans (inside your own
 * `BatchSpanProcessor`). It sees spans only after they ended, so it holds GenAI spans per trace
 * until the trace's local root span arrives (or `traceWaitMillis` passes) to find the customer
 * id on the ancestors and to bill each provider call once.
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
  private readonly _assembler: TraceAssembler;
  private _timer: ReturnType<typeof setTimeout> | undefined;
  private _shutdown: Promise<void> | undefined;
  /** Set while `export()` adds spans: the transactions its batch completed. */
  private _collecting: PricedTransaction[] | undefined;

  constructor(options: FenraSpanExporterOptions = {}) {
    const { traceWaitMillis, rest } = resolveExporterOptions(options);
    this._runtime = new FenraRuntime(rest);
    this._assembler = new TraceAssembler({
      waitMillis: traceWaitMillis,
      maxTraces: MAX_TRACES,
      maxSpansPerTrace: MAX_SPANS_PER_TRACE,
      onResolved: (spans, cause) => this._convert(spans, cause),
    });
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    if (this._shutdown !== undefined) {
      resultCallback({
        code: ExportResultCode.FAILED,
        error: new Error('FenraSpanExporter has been shut down'),
      });
      return;
    }
    let completed: PricedTransaction[] | undefined;
    try {
      const rt = this._runtime;
      if (rt.enabled) {
        rt.stats.spansSeen += spans.length;
        this._collecting = [];
        try {
          this._assembler.add(spans.map(fromReadableSpan));
        } finally {
          completed = this._collecting;
          this._collecting = undefined;
        }
        this._schedule();
      }
    } catch (e) {
      this._runtime.internalError(e);
    }
    if (completed === undefined || completed.length === 0) {
      resultCallback({ code: ExportResultCode.SUCCESS });
      return;
    }
    void this._runtime.enqueueAndWait(completed).then(() =>
      safely(
        () => resultCallback({ code: ExportResultCode.SUCCESS }),
        (e) => this._runtime.internalError(e),
        undefined,
      ),
    );
  }

  private _convert(spans: SpanView[], _cause: ResolveCause): void {
    try {
      const rt = this._runtime;
      const r = toTransactions(spans, rt.conversion);
      for (const s of r.skipped) if (s.reason !== 'not_genai') countSkip(rt.stats, s.reason);
      for (const t of r.transactions) {
        countBilled(rt.stats, t, t.transaction.context.billable_customer_id !== UNATTRIBUTED);
      }
      rt.refreshMetrics();
      if (r.transactions.length === 0) return;
      // Inside export(): its caller waits for these; otherwise (a wait expired) just queue them.
      if (this._collecting !== undefined) this._collecting.push(...r.transactions);
      else rt.enqueue(r.transactions);
    } catch (e) {
      this._runtime.internalError(e);
    }
  }

  private _schedule(): void {
    if (this._timer !== undefined) return;
    const next = this._assembler.nextDeadline();
    if (next === undefined) return;
    // Unref'd unless a flush is awaited: a held trace never keeps the process alive by itself.
    this._timer = this._runtime.keepAlive.setTimeout(
      () => {
        this._timer = undefined;
        try {
          this._assembler.expire();
        } catch (e) {
          this._runtime.internalError(e);
        }
        this._schedule();
      },
      Math.max(next - Date.now(), 10),
    );
  }

  /** Converts everything held (without waiting for roots) and sends it. Never rejects. */
  forceFlush(): Promise<void> {
    if (this._shutdown !== undefined) return this._shutdown;
    try {
      this._assembler.flush();
    } catch (e) {
      this._runtime.internalError(e);
    }
    return this._runtime.forceFlush();
  }

  /** Converts what is held, flushes, then closes. Once; later calls return the same promise. */
  shutdown(): Promise<void> {
    this._shutdown ??= (async () => {
      this._runtime.keepAlive.clearTimeout(this._timer);
      this._timer = undefined;
      try {
        this._assembler.flush();
      } catch (e) {
        this._runtime.internalError(e);
      }
      await this._runtime.shutdown();
    })();
    return this._shutdown;
  }

  stats(): FenraStats & { pendingTraces: number } {
    const rt = this._runtime;
    return {
      ...structuredClone(rt.stats),
      internalErrors: rt.internalErrors,
      delivery: rt.deliveryStats(),
      pendingTraces: this._assembler.stats().pendingTraces,
    };
  }
}
