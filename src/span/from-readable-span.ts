import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { HrTime } from '@opentelemetry/api';
import type { Attributes, SpanEventView, SpanKindValue, SpanView, StatusCodeValue } from './span-view.js';
import { EMPTY_ATTRIBUTES, EMPTY_EVENTS, UNKNOWN_SCOPE, epochMs } from './otlp-common.js';

/**
 * The SDK span a view was made from, under a symbol: in memory only (JSON, structured clone and
 * key listings leave symbol keys out, so no sink can ever write the span it points to).
 */
export const SDK_SPAN: unique symbol = Symbol('fenra.span');

/** A view of an SDK span, linked to it. */
export type ReadableSpanView = SpanView & { readonly [SDK_SPAN]: ReadableSpan };

/**
 * SpanView of an SDK ReadableSpan (@opentelemetry/sdk-trace-base 2.x), for the in-process
 * processor. Runs on the application's hot path: attribute objects, the status and the scope
 * are referenced, not copied; the only allocations are the view itself and, when the span has
 * events, one small object per event. The view keeps the span it was made from
 * ({@link SDK_SPAN}): the processor walks its ancestors from it. Odd spans (no resource, no
 * scope, no status) are tolerated; nothing here throws on a span the SDK could have produced.
 */
export function fromReadableSpan(span: ReadableSpan): ReadableSpanView {
  const ctx = span.spanContext();
  const parent = span.parentSpanContext;
  const parentId = parent?.spanId;
  const sdkEvents = span.events;
  return {
    traceId: ctx.traceId,
    spanId: ctx.spanId,
    parentSpanId: parentId !== undefined && parentId !== '' ? parentId : undefined,
    parentIsRemote: parent?.isRemote === true || undefined,
    name: span.name,
    kind: (span.kind ?? 0) as SpanKindValue,
    startTimeMs: hrTimeToMs(span.startTime),
    endTimeMs: hrTimeToMs(span.endTime),
    status: (span.status ?? UNSET_STATUS) as SpanView['status'],
    attributes: (span.attributes ?? EMPTY_ATTRIBUTES) as Attributes,
    resource: resourceAttributes(span),
    scope: span.instrumentationScope ?? UNKNOWN_SCOPE,
    events: sdkEvents !== undefined && sdkEvents.length > 0 ? eventViews(sdkEvents) : EMPTY_EVENTS,
    // In the literal (not added after): the view is made with its final shape and size.
    [SDK_SPAN]: span,
  };
}

const UNSET_STATUS: { readonly code: StatusCodeValue } = Object.freeze({ code: 0 });

function hrTimeToMs(t: HrTime | undefined): number {
  return t === undefined ? 0 : epochMs(t[0], t[1]);
}

function resourceAttributes(span: ReadableSpan): Attributes {
  // `resource` is typed as required, but hand-made spans and other SDK versions omit it.
  const resource = span.resource as ReadableSpan['resource'] | undefined;
  if (resource === undefined || resource === null) return EMPTY_ATTRIBUTES;
  return (resource.attributes ?? EMPTY_ATTRIBUTES) as Attributes;
}

function eventViews(events: ReadableSpan['events']): SpanEventView[] {
  const out = new Array<SpanEventView>(events.length);
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    out[i] = {
      name: e.name,
      timeMs: hrTimeToMs(e.time),
      attributes: (e.attributes ?? EMPTY_ATTRIBUTES) as Attributes,
    };
  }
  return out;
}
