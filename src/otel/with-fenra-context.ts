import type { Context } from '@opentelemetry/api';
import { context, propagation } from '@opentelemetry/api';
import { CONTEXT_PREFIX } from '../genai/context.js';

/**
 * Who and what an LLM call is billed for. Every field is optional; empty strings and
 * `undefined` are ignored. Any other field becomes a context dimension of the transaction
 * (sent as `context.<name>`), except the names Fenra reserves (`environment`, `service`,
 * `trace_id`, ...), which the converter ignores.
 */
export interface FenraContext {
  /** The customer billed. Baggage key `fenra.billable_customer_id`. */
  billableCustomerId?: string | undefined;
  /** The product feature. Baggage key `fenra.feature`. */
  feature?: string | undefined;
  /** The end user. Baggage key `user.id` (also a customer-id fallback, after the keys above). */
  userId?: string | undefined;
  /** The conversation or session. Baggage key `session.id`. */
  sessionId?: string | undefined;
  /** Any other dimension: baggage key `fenra.context.<name>`. */
  [dimension: string]: string | number | boolean | undefined;
}

/** The baggage key of each named field of {@link FenraContext}. */
export const FENRA_CONTEXT_KEYS = {
  billableCustomerId: 'fenra.billable_customer_id',
  feature: 'fenra.feature',
  userId: 'user.id',
  sessionId: 'session.id',
} as const satisfies Record<string, string>;

function baggageKey(field: string): string {
  return Object.prototype.hasOwnProperty.call(FENRA_CONTEXT_KEYS, field)
    ? FENRA_CONTEXT_KEYS[field as keyof typeof FENRA_CONTEXT_KEYS]
    : `${CONTEXT_PREFIX}${field}`;
}

/**
 * `parent` (default: the active context) with `values` added to its baggage. Entries already
 * in the baggage are kept unless `values` names the same key (the inner value wins).
 */
export function fenraContext(values: FenraContext, parent: Context = context.active()): Context {
  let baggage = propagation.getBaggage(parent) ?? propagation.createBaggage();
  let changed = false;
  for (const field of Object.keys(values)) {
    const v = values[field];
    if (v === undefined || v === '' || field === '') continue;
    if (typeof v === 'number' && !Number.isFinite(v)) continue;
    baggage = baggage.setEntry(baggageKey(field), { value: String(v) });
    changed = true;
  }
  return changed ? propagation.setBaggage(parent, baggage) : parent;
}

/**
 * Runs `fn` with `values` in the OpenTelemetry baggage of the active context, so every LLM call
 * made inside it (and in what it awaits) is attributed to them by `FenraSpanProcessor`.
 * Returns what `fn` returns (a promise stays a promise). Nested calls merge, the inner value
 * winning. Needs a context manager (the register entry and `NodeSDK` install one).
 *
 * Baggage is propagated to other services by a baggage propagator, when one is active (the
 * register entry installs only W3C trace context unless `OTEL_PROPAGATORS` says otherwise).
 *
 * @example
 * await withFenraContext({ billableCustomerId: 'cus_42', feature: 'summaries' }, () =>
 *   openai.chat.completions.create({ model: 'gpt-4.1-mini', messages }),
 * );
 */
export function withFenraContext<A extends unknown[], R>(
  values: FenraContext,
  fn: (...args: A) => R,
  ...args: A
): R {
  return context.with(fenraContext(values), fn, undefined, ...args);
}
