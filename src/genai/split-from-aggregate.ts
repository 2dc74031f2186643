import type { DetectedSpan } from './dedupe.js';
import type { Usage } from './types.js';

/**
 * A call billed without its cache or reasoning split, under an aggregate span that repeats
 * exactly that one call's input and output WITH the split, is billed with the split: the parts
 * are the same call's, only put on the wrong span. ADOT's OpenAI Agents bridge does this (its
 * `chat` span has input/output only; the `turn` span above repeats them with the cache split).
 *
 * The aggregate must be an ancestor of the call, have no other billed call below it (a roll-up
 * of two calls says nothing about either), and state the very same input and output counts.
 * Only parts the call lacks are taken: a cache split (read, write and the write's TTL split)
 * when the call has neither cache count, reasoning when it has none. A call that gets its cache
 * split no longer lacks it (`cacheSplitMissing` is cleared). Runs after dedupe, on the calls
 * that remain; mutates their usage. Pure, never throws.
 */
export function splitFromAggregates(entries: readonly DetectedSpan[]): void {
  let aggregates = 0;
  for (const e of entries) if (e.aggregateUsage !== undefined && hasSplit(e.aggregateUsage)) aggregates++;
  if (aggregates === 0) return;
  const byId = new Map<string, DetectedSpan>();
  for (const e of entries) byId.set(e.span.spanId, e);
  // For each aggregate with a split: the billed calls below it (walks stop after as many steps
  // as the trace has spans, so a cycle in the ids cannot loop).
  const below = new Map<DetectedSpan, DetectedSpan[]>();
  const limit = entries.length;
  for (const e of entries) {
    if (e.call?.usage === undefined) continue;
    let p = e.span.parentSpanId;
    for (let steps = limit; p !== undefined && steps > 0; steps--) {
      const a = byId.get(p);
      if (a === undefined || a === e) break;
      if (a.aggregateUsage !== undefined && hasSplit(a.aggregateUsage)) {
        const list = below.get(a);
        if (list === undefined) below.set(a, [e]);
        else list.push(e);
      }
      p = a.span.parentSpanId;
    }
  }
  for (const [aggregate, calls] of below) {
    if (calls.length !== 1) continue;
    const usage = calls[0]!.call!.usage!;
    const from = aggregate.aggregateUsage!;
    if (sameCounts(usage, from)) takeSplit(usage, from);
  }
}

const hasCache = (u: Usage): boolean => u.cacheReadTokens !== undefined || u.cacheWriteTokens !== undefined;
const hasSplit = (u: Usage): boolean => hasCache(u) || u.reasoningTokens !== undefined;

/** The same input and output counts: the two usages can be one call's. */
export const sameCounts = (a: Usage, b: Usage): boolean =>
  a.inputTokens === b.inputTokens && a.outputTokens === b.outputTokens;

/** Takes the parts `usage` lacks from `from` (the same call's counts, stated elsewhere). */
export function takeSplit(usage: Usage, from: Usage): void {
  if (!hasCache(usage) && hasCache(from)) {
    if (from.cacheReadTokens !== undefined) usage.cacheReadTokens = from.cacheReadTokens;
    if (from.cacheWriteTokens !== undefined) usage.cacheWriteTokens = from.cacheWriteTokens;
    if (from.cacheWrite5mTokens !== undefined) usage.cacheWrite5mTokens = from.cacheWrite5mTokens;
    if (from.cacheWrite1hTokens !== undefined) usage.cacheWrite1hTokens = from.cacheWrite1hTokens;
    usage.cacheSplitMissing = undefined;
  }
  if (usage.reasoningTokens === undefined && from.reasoningTokens !== undefined) {
    usage.reasoningTokens = from.reasoningTokens;
  }
}
