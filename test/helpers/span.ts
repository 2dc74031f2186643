import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { fromReadableSpan, SDK_SPAN } from '../../src/span/from-readable-span.js';
import type { Attributes, SpanView } from '../../src/span/span-view.js';
import { SpanKind, StatusCode } from '../../src/span/span-view.js';

let counter = 0;
const hex = (n: number, len: number): string => n.toString(16).padStart(len, '0');

/** A SpanView for table tests; ids are unique unless given. */
export function makeSpan(attributes: Attributes, over: Partial<Omit<SpanView, 'attributes'>> = {}): SpanView {
  counter++;
  return {
    traceId: hex(1, 32),
    spanId: hex(counter, 16),
    parentSpanId: undefined,
    name: 'span',
    kind: SpanKind.CLIENT,
    startTimeMs: Date.UTC(2025, 6, 1),
    endTimeMs: Date.UTC(2025, 6, 1) + 500,
    status: { code: StatusCode.UNSET },
    resource: { 'service.name': 'svc' },
    scope: { name: 'test' },
    events: [],
    ...over,
    attributes,
  };
}

/** The view of an SDK span without its link to the span: what the other adapters make of it. */
export function unlinkedView(span: ReadableSpan): SpanView {
  const { [SDK_SPAN]: _linked, ...view } = fromReadableSpan(span);
  return view;
}
