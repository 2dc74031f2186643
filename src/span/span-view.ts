/**
 * SpanView: the one internal shape of a span. The in-process processor, the OTLP/JSON and
 * OTLP/protobuf decoders all produce it; nothing after it knows where a span came from.
 */

/** An attribute value after decoding: OTel primitives, arrays, and (from OTLP kvlist) objects. */
export type AttrValue =
  | string
  | number
  | boolean
  | null
  | Uint8Array
  | readonly AttrValue[]
  | { readonly [key: string]: AttrValue };

export type Attributes = Readonly<Record<string, AttrValue | undefined>>;

/** Span kind, with the numbers of `@opentelemetry/api`'s `SpanKind` (not the OTLP wire numbers). */
export const SpanKind = {
  INTERNAL: 0,
  SERVER: 1,
  CLIENT: 2,
  PRODUCER: 3,
  CONSUMER: 4,
} as const;
export type SpanKindValue = (typeof SpanKind)[keyof typeof SpanKind];

/** Status code, with the numbers of `@opentelemetry/api`'s `SpanStatusCode` (same as OTLP). */
export const StatusCode = { UNSET: 0, OK: 1, ERROR: 2 } as const;
export type StatusCodeValue = (typeof StatusCode)[keyof typeof StatusCode];

export interface SpanEventView {
  readonly name: string;
  /** Epoch milliseconds (fractional). */
  readonly timeMs: number;
  readonly attributes: Attributes;
}

export interface SpanView {
  /** 32 lower-case hex characters. */
  readonly traceId: string;
  /** 16 lower-case hex characters. */
  readonly spanId: string;
  /** 16 lower-case hex characters, or undefined for a root span. */
  readonly parentSpanId: string | undefined;
  /**
   * The parent lives in another process (the span continues an incoming `traceparent`): this
   * span is then the local root of its trace. From `parentSpanContext.isRemote`, or the OTLP
   * span `flags` bits 0x100 (known) and 0x200 (remote). Absent means not known to be remote.
   */
  readonly parentIsRemote?: boolean;
  readonly name: string;
  readonly kind: SpanKindValue;
  /** Epoch milliseconds (fractional). */
  readonly startTimeMs: number;
  /** Epoch milliseconds (fractional). */
  readonly endTimeMs: number;
  readonly status: { readonly code: StatusCodeValue; readonly message?: string };
  readonly attributes: Attributes;
  readonly resource: Attributes;
  readonly scope: { readonly name: string; readonly version?: string };
  readonly events: readonly SpanEventView[];
}

/**
 * The local root of its trace in this process: no parent, or a parent in another process (an
 * incoming `traceparent`), whose end would never arrive here.
 */
export function isLocalRoot(span: SpanView): boolean {
  return span.parentSpanId === undefined || span.parentIsRemote === true;
}

/**
 * Up to this many spans, a span is found by id with {@link findSpan} (a scan allocates nothing
 * and most groups are a call and its root); past it, through a Map or a Set.
 */
export const SPAN_SCAN_LIMIT = 8;

/** The first span with that id among `spans[0..end)`, by a scan. */
export function findSpan(spans: readonly SpanView[], id: string, end = spans.length): SpanView | undefined {
  for (let i = 0; i < end; i++) if (spans[i]!.spanId === id) return spans[i];
  return undefined;
}
