import type { Context } from '@opentelemetry/api';
import { diag } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { hasGenAiMarker } from '../genai/detect.js';
import type { Scheduler } from '../internal/scheduler.js';
import type { PipelineStats } from '../pipeline/stats.js';
import { fromReadableSpan } from '../span/from-readable-span.js';
import type { Attributes } from '../span/span-view.js';
import type { ConversionStats } from '../stage/conversion-stats.js';
import { AttributionTracker } from './attribution.js';
import { inProcessConfig } from '../config/library.js';
import { LinkedAncestors } from './linked-ancestors.js';
import type { FenraOptions } from './runtime.js';
import { FenraRuntime } from './runtime.js';

/** `stats()`: conversion counters, internal errors, and the delivery pipeline's counters. */
export type FenraStats = ConversionStats & {
  internalErrors: number;
  /** Traces whose calls wait for their root span. */
  pendingTraces: number;
  delivery: PipelineStats;
};

const log = diag.createComponentLogger({ namespace: '@fenra/otel/processor' });

/**
 * Spans are handed to the conversion stage in deliveries, off the span's own end: after
 * DELIVERY_DELAY_MS, or at once (next turn of the event loop) when DELIVERY_BATCH have ended.
 * The application's `span.end()` only pays for a push; spans ending in the same turn arrive
 * together, as they would in one export batch. Past MAX_PENDING (a synchronous loop that never
 * yields) they are delivered where they end.
 */
const DELIVERY_BATCH = 64;
const DELIVERY_DELAY_MS = 100;
const MAX_PENDING = 2048;

/** A span with no parent, or a parent in another process: the local root of its trace. */
function isLocalRootSpan(span: ReadableSpan): boolean {
  const parent = span.parentSpanContext;
  return parent === undefined || parent.isRemote === true;
}

/**
 * An OpenTelemetry `SpanProcessor` that turns the GenAI spans the application already
 * produces into priced Fenra transactions. Add it beside your exporters:
 *
 * @example
 * const sdk = new NodeSDK({ spanProcessors: [new FenraSpanProcessor(), new BatchSpanProcessor(exporter)] });
 *
 * The same conversion stage as every other mode bills the spans: a trace's calls wait for its
 * local root span (which usually carries the customer) and are billed once it ends, reading
 * their ancestors through the parent links taken at `onStart` (and the baggage in force).
 * `onEnd` sets GenAI spans (and the roots of their traces) aside for the next delivery to the
 * stage; every other span returns after a few property lookups. Nothing is ever thrown into the app.
 */
export class FenraSpanProcessor implements SpanProcessor {
  private readonly _runtime: FenraRuntime;
  private readonly _tracker = new AttributionTracker();
  private readonly _links: LinkedAncestors;
  /** Spans that ended and wait for the next delivery, in end order. */
  private _ended: ReadableSpan[] = [];
  /** Traces with a call among `_ended`: their roots join the delivery. */
  private _endedTraces = new Set<string>();
  /** Local roots (not calls) that ended since the last delivery. */
  private _endedRoots: ReadableSpan[] = [];
  private _deliveryTimer: ReturnType<typeof setTimeout> | undefined;
  private _deliverSoon = false;
  private readonly _deliverEnded = (): void => this._deliver();
  /** A resource whose async attributes must settle before its spans are read. */
  private _awaitingResource: Promise<void> | undefined;
  private _shutdown: Promise<void> | undefined;

  /** @param internal for tests only: the clock and timers of trace holding. */
  constructor(options?: FenraOptions, internal?: { scheduler?: Scheduler }) {
    this._links = new LinkedAncestors(this._tracker);
    const links = this._links;
    this._runtime = new FenraRuntime(inProcessConfig(options), {
      ancestors: links,
      baggageOf: (s) => links.baggageOf(s),
      scheduler: internal?.scheduler,
    });
    // A script that ends by itself, a server stopped without sdk.shutdown(): nothing is lost.
    this._runtime.flushAtExit(
      () => this.forceFlush(),
      () => this._ended.length > 0,
    );
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
      if (hasGenAiMarker(span.attributes as Attributes)) {
        this._endedTraces.add(span.spanContext().traceId);
        this._ended.push(span);
      } else {
        if (!isLocalRootSpan(span)) return;
        this._tracker.rootEnded(span.spanContext().traceId, span);
        // A root joins the delivery if a call of its trace is held, or ends before the
        // delivery leaves (a root ends first in a batch as often as last).
        this._endedRoots.push(span);
      }
      const ended = this._ended;
      if (ended.length + this._endedRoots.length >= MAX_PENDING) this._deliver();
      else if (ended.length >= DELIVERY_BATCH) {
        if (!this._deliverSoon) {
          this._deliverSoon = true;
          setImmediate(this._deliverEnded).unref();
        }
      } else if (this._deliveryTimer === undefined) {
        this._deliveryTimer = setTimeout(this._deliverEnded, DELIVERY_DELAY_MS);
        this._deliveryTimer.unref();
      }
    } catch (e) {
      rt.internalError(e);
    }
  }

  /** Hands every span that ended so far to the stage, as one delivery. Never throws. */
  private _deliver(): void {
    if (this._deliveryTimer !== undefined) {
      clearTimeout(this._deliveryTimer);
      this._deliveryTimer = undefined;
    }
    this._deliverSoon = false;
    if (this._awaitingResource !== undefined) return;
    const rt = this._runtime;
    const batch = this._ended;
    if (this._endedRoots.length > 0) {
      for (const root of this._endedRoots) {
        const traceId = root.spanContext().traceId;
        if (this._endedTraces.has(traceId) || rt.stage.isHeld(traceId)) batch.push(root);
      }
      this._endedRoots = [];
    }
    if (batch.length === 0) return;
    // A resource still waiting for async detectors (e.g. NodeSDK's host detector) must not be
    // read yet (the SDK logs an error on every such read): deliver once it has settled.
    const pending = batch.find((s) => s.resource?.asyncAttributesPending === true);
    if (pending?.resource.waitForAsyncAttributes) {
      const wait: Promise<void> = pending.resource
        .waitForAsyncAttributes()
        .catch((e: unknown) => rt.internalError(e))
        .finally(() => {
          if (this._awaitingResource === wait) this._awaitingResource = undefined;
          this._deliver();
        });
      this._awaitingResource = wait;
      return;
    }
    this._ended = [];
    this._endedTraces = new Set();
    rt.refreshMetrics();
    rt.ingest(() => rt.stage.ingest(batch.map((s) => fromReadableSpan(s))));
  }

  /**
   * Bills everything held (without waiting for roots) and sends it; resolves when Fenra has
   * answered, or at the flush limit (`exportTimeoutMillis` + 1 s), a resource's async
   * attributes included. Never rejects.
   */
  async forceFlush(): Promise<void> {
    if (this._shutdown !== undefined) return this._shutdown;
    const rt = this._runtime;
    const limit = rt.flushTimeoutMillis;
    const start = Date.now();
    await this._deliverAll(limit);
    return rt.forceFlush(limit - (Date.now() - start));
  }

  /** Flushes, then closes. Once; later calls return the same promise. Never rejects. */
  shutdown(): Promise<void> {
    this._shutdown ??= (async () => {
      await this._deliverAll(this._runtime.flushTimeoutMillis);
      await this._runtime.shutdown();
    })().catch((e: unknown) => this._runtime.internalError(e));
    return this._shutdown;
  }

  /** Delivers what ended, waiting at most `ms` for a resource's async attributes (a detector may hang). */
  private async _deliverAll(ms: number): Promise<void> {
    this._deliver();
    const waiting = this._awaitingResource;
    if (waiting === undefined) return;
    if (!(await this._runtime.boundedWait(waiting, ms))) {
      log.warn(
        `${this._ended.length} span(s) still wait for their resource's async attributes after ${ms} ms; they are billed when those settle`,
      );
    }
  }

  /** Counters: conversion (spans, LLM calls, billed, skipped by reason, USD) and delivery. */
  stats(): FenraStats {
    this._deliver();
    const rt = this._runtime;
    return {
      ...structuredClone(rt.stats),
      internalErrors: rt.internalErrors,
      pendingTraces: rt.stage.heldTraces,
      delivery: rt.deliveryStats(),
    };
  }
}

/**
 * Says (diag and a process warning) what `processor` has not delivered and why: for the
 * register entry when its flush at exit ran out of time. Not part of the public API.
 */
export function reportUndelivered(processor: FenraSpanProcessor): void {
  processor['_runtime'].reportLosses();
}
