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
  for (const [k, v] of Object.entries(call.usage)) {
    if (typeof v === 'number' && !(Number.isFinite(v) && v >= 0)) return `usage ${k} is ${v}`;
  }
  for (const [k, v] of Object.entries(context)) {
    if (typeof v === 'number' && !Number.isFinite(v)) return `context ${k} is ${v}`;
  }
  return undefined;
}
