import type { Context } from '@opentelemetry/api';
import { diag } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { hasGenAiMarker } from '../genai/detect.js';
import type { PricedTransaction } from '../genai/priced-transaction.js';
import type { SkipReason } from '../genai/types.js';
import type { Attributes } from '../span/span-view.js';
import { fromReadableSpan } from '../span/from-readable-span.js';
import { AttributionTracker } from './attribution.js';
import type { FenraOptions } from './runtime.js';
import { FenraRuntime } from './runtime.js';
import type { PipelineStats } from '../pipeline/stats.js';
import type { ConversionStats } from './span-converter.js';
import { convertSpan, countBilled, countSkip } from './span-converter.js';

/** `stats()`: conversion counters, internal errors, and the delivery pipeline's counters. */
export type FenraStats = ConversionStats & { internalErrors: number; delivery: PipelineStats };

const log = diag.createComponentLogger({ namespace: '@fenra/otel/processor' });

/** How many recent provider response ids are remembered to catch one call seen twice. */
const RECENT_RESPONSES = 1024;

/**
 * GenAI spans are converted in batches, off the span's own end: after CONVERT_DELAY_MS, or at
 * once (next turn of the event loop) when CONVERT_BATCH have ended. One batch keeps the
 * converter's code and tables hot (measured: a quarter less CPU per call than one at a time in
 * the in-process bench), the application's `span.end()` only pays for a push, and ancestors
 * are read when they have usually ended (their attributes complete). Past MAX_PENDING (a
 * synchronous loop that never yields) spans are converted where they end.
 */
const CONVERT_BATCH = 64;
const CONVERT_DELAY_MS = 100;
const MAX_PENDING = 2048;

const EXPLAIN: Partial<Record<SkipReason, string>> = {
  missing_usage:
    'an LLM call ended without usage and is not billed (for OpenAI streaming, set stream_options: { include_usage: true })',
  failed_no_usage: 'a failed LLM call reported no usage and is not billed',
  missing_model: 'an LLM call had usage but no model id and is not billed',
  invalid: 'a transaction failed local validation and is not sent',
};

/**
 * An OpenTelemetry `SpanProcessor` that turns the GenAI spans the application already
 * produces into priced Fenra transactions. Add it beside your exporters:
 *
 * @example
 * const sdk = new NodeSDK({ spanProcessors: [new FenraSpanProcessor(), new BatchSpanProcessor(exporter)] });
 *
 * `onStart` remembers each span's parent and baggage so the customer id on the request span
 * (or in baggage) reaches the LLM span; `onEnd` sets GenAI spans aside for the next batch
 * conversion (within 100 ms, or as soon as 64 have ended); every other span returns after a
 * few property lookups. Nothing is ever thrown into the app.
 */
export class FenraSpanProcessor implements SpanProcessor {
  private readonly _runtime: FenraRuntime;
  private readonly _tracker = new AttributionTracker();
  /** Spans below which a call was billed: when they end as model calls, they are wrappers. */
  private readonly _billedBelow = new WeakSet<object>();
  private readonly _recentResponses = new Set<string>();
  private readonly _explained = new Set<SkipReason>();
  /** Conversions waiting for a resource's async attributes. */
  private readonly _pending = new Set<Promise<void>>();
  /** GenAI spans that ended and wait for the next batch conversion, in end order. */
  private _ended: ReadableSpan[] = [];
  private _convertTimer: ReturnType<typeof setTimeout> | undefined;
  private _convertSoon = false;
  private readonly _convertEnded = (): void => this._convertBatch();
  private _shutdown: Promise<void> | undefined;

  constructor(options?: FenraOptions) {
    this._runtime = new FenraRuntime(options);
  }

  onStart(span: Span, parentContext: Context): void {
    if (!this._runtime.enabled) return;
    try {
      this._tracker.onStart(span, parentContext);
    } catch (e) {
      this._runtime.internalError(e);
    }
  }

  onEnd(span: ReadableSpan): void {
    const rt = this._runtime;
    if (!rt.enabled) return;
    // One try around everything: a null span, a span without attributes or an attributes
    // getter that throws is counted as an internal error, never thrown into the application.
    try {
      rt.stats.spansSeen++;
      if (!hasGenAiMarker(span.attributes as Attributes)) return;
      const ended = this._ended;
      ended.push(span);
      if (ended.length >= MAX_PENDING) this._convertBatch();
      else if (ended.length >= CONVERT_BATCH) {
        if (!this._convertSoon) {
          this._convertSoon = true;
          setImmediate(this._convertEnded).unref();
        }
      } else if (this._convertTimer === undefined) {
        this._convertTimer = setTimeout(this._convertEnded, CONVERT_DELAY_MS);
        this._convertTimer.unref();
      }
    } catch (e) {
      rt.internalError(e);
    }
  }

  /** Converts every GenAI span that ended so far, in end order. Never throws. */
  private _convertBatch(): void {
    if (this._convertTimer !== undefined) {
      clearTimeout(this._convertTimer);
      this._convertTimer = undefined;
    }
    this._convertSoon = false;
    const batch = this._ended;
    if (batch.length === 0) return;
    this._ended = [];
    const rt = this._runtime;
    rt.refreshMetrics();
    const billed: PricedTransaction[] = [];
    for (let i = 0; i < batch.length; i++) {
      const span = batch[i]!;
      try {
        // A resource still waiting for async detectors (e.g. NodeSDK's host detector) must not
        // be read yet (the SDK logs an error on every such read): convert once it has settled.
        const resource = span.resource;
        if (resource?.asyncAttributesPending && resource.waitForAsyncAttributes) {
          const pending: Promise<void> = resource
            .waitForAsyncAttributes()
            .then(() => {
              const tx = this._convert(span);
              if (tx !== undefined) rt.enqueue([tx]);
            })
            .catch((e: unknown) => rt.internalError(e))
            .finally(() => this._pending.delete(pending));
          this._pending.add(pending);
          continue;
        }
        const tx = this._convert(span);
        if (tx !== undefined) billed.push(tx);
      } catch (e) {
        rt.internalError(e);
      }
    }
    if (billed.length > 0) rt.enqueue(billed);
  }

  /** Converts one GenAI span; its transaction when it is billed (counted here, queued by the caller). */
  private _convert(span: ReadableSpan): PricedTransaction | undefined {
    const rt = this._runtime;
    const view = fromReadableSpan(span);
    const { ancestors, baggage } = this._tracker.layers(span);
    const out = convertSpan(view, ancestors, baggage, rt.conversion);
    const wraps = this._billedBelow.has(span);
    if ('skipped' in out) {
      // A call without usage wrapping a billed call was billed there.
      this._skip(wraps && out.skipped === 'missing_usage' ? 'duplicate' : out.skipped, out.detail);
      return undefined;
    }
    if (wraps) {
      this._skip('aggregate');
      return undefined;
    }
    if (this._seenResponse(out.transaction)) {
      this._skip('duplicate');
      return undefined;
    }
    this._tracker.addAncestorsTo(span, this._billedBelow);
    countBilled(rt.stats, out.transaction, out.attributed);
    return out.transaction;
  }

  private _seenResponse(tx: PricedTransaction): boolean {
    const id = tx.transaction.context['request_id'];
    if (typeof id !== 'string') return false;
    const key = `${tx.transaction.provider}/${id}`;
    if (this._recentResponses.has(key)) return true;
    if (this._recentResponses.size >= RECENT_RESPONSES) {
      const oldest = this._recentResponses.values().next().value;
      if (oldest !== undefined) this._recentResponses.delete(oldest);
    }
    this._recentResponses.add(key);
    return false;
  }

  private _skip(reason: SkipReason, detail?: string): void {
    countSkip(this._runtime.stats, reason);
    const text = EXPLAIN[reason];
    if (text !== undefined && !this._explained.has(reason)) {
      this._explained.add(reason);
      log.warn(`${text}${detail ? ` (${detail})` : ''}; further ones are only counted (see stats())`);
    }
  }

  /**
   * Sends everything queued; resolves when Fenra has answered, or at the flush limit
   * (`exportTimeoutMillis` + 1 s), conversions waiting for a resource's async attributes
   * included. Never rejects.
   */
  async forceFlush(): Promise<void> {
    if (this._shutdown !== undefined) return this._shutdown;
    this._convertBatch();
    const rt = this._runtime;
    const limit = rt.flushTimeoutMillis;
    const start = Date.now();
    await this._awaitPending(limit);
    return rt.forceFlush(limit - (Date.now() - start));
  }

  /** Flushes, then closes. Once; later calls return the same promise. Never rejects. */
  shutdown(): Promise<void> {
    this._shutdown ??= (async () => {
      this._convertBatch();
      await this._awaitPending(this._runtime.flushTimeoutMillis);
      await this._runtime.shutdown();
    })().catch((e: unknown) => this._runtime.internalError(e));
    return this._shutdown;
  }

  /** Conversions waiting for async resource attributes, at most `ms` (a detector may hang). */
  private async _awaitPending(ms: number): Promise<void> {
    if (this._pending.size === 0) return;
    const settled = await this._runtime.boundedWait(Promise.all([...this._pending]), ms);
    if (!settled) {
      log.warn(
        `${this._pending.size} GenAI span(s) still wait for their resource's async attributes after ${ms} ms; they are converted when those settle`,
      );
    }
  }

  /** Counters: conversion (spans, LLM calls, billed, skipped by reason, USD) and delivery. */
  stats(): FenraStats {
    this._convertBatch();
    const rt = this._runtime;
    return { ...structuredClone(rt.stats), internalErrors: rt.internalErrors, delivery: rt.deliveryStats() };
  }
}
