import type { ContextValue } from '../genai/context.js';
import type { Usage } from '../genai/types.js';

/**
 * Context keys that state facts about the call itself (not attribution): the one table of
 * their wire names. `renderTransaction` writes them from the call's usage, after the
 * attribution context, and removes any the call does not state, so an application attribute
 * (`fenra.context.reported_cost_usd`) can never pass for one.
 */
export const CALL_CONTEXT = {
  /** A cost the span reported (USD), beside our local estimate; never added to it. */
  reportedCostUsd: 'reported_cost_usd',
  /** Where that cost was read: the attribute (`gen_ai.cost.total_cost`...) or `provider`. */
  reportedCostSource: 'reported_cost_source',
  /** The instrumentation is known to drop the cached part of the input (billed at the full rate). */
  cacheSplitMissing: 'cache_split_missing',
  /** The instrumentation is known to leave reasoning (thinking) tokens out of the output billed. */
  reasoningMissing: 'reasoning_missing',
} as const;

const CALL_CONTEXT_KEYS: readonly string[] = Object.values(CALL_CONTEXT);

const MAX_SOURCE_LENGTH = 64;

/** The call facts of one usage, by wire key (only those the call states). */
export function callContext(usage: Usage): Record<string, ContextValue> {
  const out: Record<string, ContextValue> = {};
  if (usage.reportedCost !== undefined) {
    out[CALL_CONTEXT.reportedCostUsd] = usage.reportedCost.usd;
    out[CALL_CONTEXT.reportedCostSource] = usage.reportedCost.source.slice(0, MAX_SOURCE_LENGTH);
  }
  if (usage.cacheSplitMissing) out[CALL_CONTEXT.cacheSplitMissing] = true;
  if (usage.reasoningMissing) out[CALL_CONTEXT.reasoningMissing] = true;
  return out;
}

/** The attribution context with the call's facts applied (a copy when anything changes). */
export function withCallContext<C extends Record<string, ContextValue>>(context: C, usage: Usage): C {
  // Most calls state no fact and their context holds none of the keys: nothing to copy.
  if (
    usage.reportedCost === undefined &&
    usage.cacheSplitMissing !== true &&
    usage.reasoningMissing !== true &&
    !holdsAny(context)
  )
    return context;
  const facts = callContext(usage);
  let out: C | undefined;
  for (const key of CALL_CONTEXT_KEYS) {
    const v = facts[key];
    if (v === undefined ? key in context : context[key] !== v) {
      out ??= { ...context };
      if (v === undefined) delete out[key];
      else (out as Record<string, ContextValue>)[key] = v;
    }
  }
  return out ?? context;
}

function holdsAny(context: Record<string, ContextValue>): boolean {
  for (let i = 0; i < CALL_CONTEXT_KEYS.length; i++) if (CALL_CONTEXT_KEYS[i]! in context) return true;
  return false;
}
