import type { TransactionContext } from './context.js';
import { DEFAULT_MAX_TOKENS_PER_CALL, MAX_CONTEXT_VALUE_LENGTH, MAX_MODEL_ID_LENGTH } from './limits.js';
import type { ModelCall, SkipReason, Usage } from './types.js';

export interface BillableLimits {
  /**
   * Largest token count of one call (any of its counts); a call stating more is not billed
   * (`invalid_usage`). Default {@link DEFAULT_MAX_TOKENS_PER_CALL}.
   */
  maxTokensPerCall?: number | undefined;
}

/** Why a detected call is not billed as it is. */
export interface Unbillable {
  reason: Extract<SkipReason, 'invalid' | 'invalid_usage'>;
  /** One sentence, bounded; it names the attribute or the field, never content. */
  detail: string;
}

/** The Usage fields that count tokens (or images). */
const COUNT_FIELDS = [
  'inputTokens',
  'outputTokens',
  'totalTokens',
  'cacheReadTokens',
  'cacheWriteTokens',
  'cacheWrite5mTokens',
  'cacheWrite1hTokens',
  'reasoningTokens',
  'audioInputTokens',
  'audioOutputTokens',
  'imageInputTokens',
  'imageOutputTokens',
  'videoInputTokens',
  'imagesGenerated',
] as const satisfies readonly (keyof Usage)[];

/** The cause of a count that cannot be billed, or undefined. */
function usageProblem(usage: Usage, ceiling: number): string | undefined {
  if (usage.unreadable !== undefined) return usage.unreadable;
  for (const field of COUNT_FIELDS) {
    const n = usage[field];
    if (n === undefined) continue;
    if (!Number.isSafeInteger(n) || n < 0) return `usage ${field} is ${n}, not a token count`;
    if (n > ceiling)
      return `usage ${field} is ${n}, above the per-call ceiling of ${ceiling} tokens (maxTokensPerCall)`;
  }
  const cost = usage.providerCostUsd;
  if (cost !== undefined && !(Number.isFinite(cost) && cost >= 0)) return `a reported cost is ${cost}`;
  const reported = usage.reportedCost?.usd;
  if (reported !== undefined && !(Number.isFinite(reported) && reported >= 0))
    return `a reported cost is ${reported}`;
  return undefined;
}

const tooLong = (id: string | undefined): boolean => id !== undefined && id.length > MAX_MODEL_ID_LENGTH;

/**
 * Why a detected call cannot be billed as it is, or undefined when it can: the core's one
 * guarantee, for every mode, that what it hands on is well-formed, so no later stage checks
 * again. Counts are whole numbers 0 ≤ n < 2^53 and within the per-call ceiling (else
 * `invalid_usage`: never billed as 0, nor as a huge number); the model id is not empty and at
 * most {@link MAX_MODEL_ID_LENGTH} characters as the span spelt it; context values are finite
 * numbers, or text of at most {@link MAX_CONTEXT_VALUE_LENGTH} characters (else `invalid`).
 */
export function unbillableReason(
  call: ModelCall & { model: string; usage: Usage },
  context: TransactionContext,
  limits: BillableLimits = {},
): Unbillable | undefined {
  const problem = usageProblem(call.usage, limits.maxTokensPerCall ?? DEFAULT_MAX_TOKENS_PER_CALL);
  if (problem !== undefined) return { reason: 'invalid_usage', detail: problem };
  if (tooLong(call.model) || tooLong(call.requestModel) || tooLong(call.responseModel))
    return { reason: 'invalid', detail: `the model id is longer than ${MAX_MODEL_ID_LENGTH} characters` };
  if (call.model.trim() === '') return { reason: 'invalid', detail: 'the model id is empty' };
  // Walked without allocating: this runs for every call.
  for (const k in context) {
    const v = context[k];
    if (typeof v === 'number' && !Number.isFinite(v))
      return { reason: 'invalid', detail: `context ${k} is ${v}` };
    if (typeof v === 'string' && v.length > MAX_CONTEXT_VALUE_LENGTH)
      return {
        reason: 'invalid',
        detail: `context ${k} is longer than ${MAX_CONTEXT_VALUE_LENGTH} characters`,
      };
  }
  return undefined;
}
