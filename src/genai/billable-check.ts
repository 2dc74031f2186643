import type { TransactionContext } from './context.js';
import type { ModelCall, Usage } from './types.js';

/**
 * Why a detected call cannot be billed as it is, or undefined when it can: the core's own
 * guarantee that what it hands on is well-formed (a model id, counts that are finite and not
 * negative, context values that are finite), so no later stage has to check again.
 */
export function unbillableReason(
  call: ModelCall & { model: string; usage: Usage },
  context: TransactionContext,
): string | undefined {
  if (call.model.trim() === '') return 'the model id is empty';
  const usage = call.usage as unknown as Record<string, unknown>;
  for (const k in usage) {
    const v = usage[k];
    if (typeof v === 'number' && !(Number.isFinite(v) && v >= 0)) return `usage ${k} is ${v}`;
  }
  for (const k in context) {
    const v = context[k];
    if (typeof v === 'number' && !Number.isFinite(v)) return `context ${k} is ${v}`;
  }
  return undefined;
}
