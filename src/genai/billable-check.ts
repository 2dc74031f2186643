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

/** The cause of a count that cannot be billed (`field` names it), or undefined. */
function countProblem(field: string, n: number | undefined, ceiling: number): string | undefined {
  if (n === undefined) return undefined;
  if (!Number.isSafeInteger(n) || n < 0) return `usage ${field} is ${n}, not a token count`;
  if (n > ceiling)
    return `usage ${field} is ${n}, above the per-call ceiling of ${ceiling} tokens (maxTokensPerCall)`;
  return undefined;
}

/**
 * The cause of a count that cannot be billed, or undefined. Every Usage field that counts tokens
 * (or images) is read by name (each call runs this: named reads, not a loop of keyed ones).
 */
function usageProblem(u: Usage, ceiling: number): string | undefined {
  if (u.unreadable !== undefined) return u.unreadable;
  const problem =
    countProblem('inputTokens', u.inputTokens, ceiling) ??
    countProblem('outputTokens', u.outputTokens, ceiling) ??
    countProblem('totalTokens', u.totalTokens, ceiling) ??
    countProblem('cacheReadTokens', u.cacheReadTokens, ceiling) ??
    countProblem('cacheWriteTokens', u.cacheWriteTokens, ceiling) ??
    countProblem('cacheWrite5mTokens', u.cacheWrite5mTokens, ceiling) ??
    countProblem('cacheWrite1hTokens', u.cacheWrite1hTokens, ceiling) ??
    countProblem('reasoningTokens', u.reasoningTokens, ceiling) ??
    countProblem('audioInputTokens', u.audioInputTokens, ceiling) ??
    countProblem('audioOutputTokens', u.audioOutputTokens, ceiling) ??
    countProblem('imageInputTokens', u.imageInputTokens, ceiling) ??
    countProblem('imageOutputTokens', u.imageOutputTokens, ceiling) ??
    countProblem('videoInputTokens', u.videoInputTokens, ceiling) ??
    countProblem('imagesGenerated', u.imagesGenerated, ceiling);
  if (problem !== undefined) return problem;
  const cost = u.providerCostUsd;
  if (cost !== undefined && !(Number.isFinite(cost) && cost >= 0)) return `a reported cost is ${cost}`;
  const reported = u.reportedCost?.usd;
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
