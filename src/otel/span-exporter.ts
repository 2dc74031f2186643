import type { ExportResult } from '@opentelemetry/core';
import { ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { UNATTRIBUTED } from '../genai/context.js';
import { toTransactions } from '../genai/to-transactions.js';
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
   * How long a GenAI span waits for its trace's root span (which carries the customer id and
   * ends last) before it is converted with what has arrived, ms. Default 10000.
   */
  traceWaitMillis?: number;
}

const MAX_TRACES = 10_000;
const MAX_SPANS_PER_TRACE = 1_000;

/**
 * An OpenTelemetry `SpanExporter` for pipelines that already batch spans (inside your own
 * `BatchSpanProcessor`). It sees spans only after they ended, so it holds GenAI spans per trace
 * until the trace's root span arrives (or `traceWaitMillis` passes) to find the customer id on
 * the ancestors and to bill each provider call once. `export()` always reports SUCCESS for
 * spans it accepted: delivery to Fenra is its own queue's business, with its own retries.
 */
export class FenraSpanExporter implements SpanExporter {
  private readonly _runtime: FenraRuntime;
  private readonly _assembler: TraceAssembler;
  private _timer: ReturnType<typeof setTimeout> | undefined;
  private _shutdown: Promise<void> | undefined;

  constructor(options: FenraSpanExporterOptions = {}) {
    const { traceWaitMillis = 10_000, ...rest } = options;
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
    try {
      if (this._runtime.enabled) {
        this._runtime.stats.spansSeen += spans.length;
        this._assembler.add(spans.map(fromReadableSpan));
        this._schedule();
      }
    } catch (e) {
      this._runtime.internalError(e);
    }
    resultCallback({ code: ExportResultCode.SUCCESS });
  }

  private _convert(spans: SpanView[], _cause: ResolveCause): void {
    try {
      const rt = this._runtime;
      const r = toTransactions(spans, rt.conversion);
      for (const s of r.skipped) if (s.reason !== 'not_genai') countSkip(rt.stats, s.reason);
      for (const t of r.transactions) {
        countBilled(rt.stats, t, t.transaction.context.billable_customer_id !== UNATTRIBUTED);
      }
      if (r.transactions.length > 0) rt.enqueue(r.transactions);
    } catch (e) {
      this._runtime.internalError(e);
    }
  }

  private _schedule(): void {
    if (this._timer !== undefined) return;
    const next = this._assembler.nextDeadline();
    if (next === undefined) return;
    this._timer = setTimeout(
      () => {
        this._timer = undefined;
        this._assembler.expire();
        this._schedule();
      },
      Math.max(next - Date.now(), 10),
    );
    this._timer.unref();
  }

  /** Converts everything held (without waiting for roots) and sends it. */
  forceFlush(): Promise<void> {
    this._assembler.flush();
    return this._runtime.forceFlush();
  }

  shutdown(): Promise<void> {
    this._shutdown ??= (async () => {
      if (this._timer !== undefined) clearTimeout(this._timer);
      this._assembler.flush();
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
