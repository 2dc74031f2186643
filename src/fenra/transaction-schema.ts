import type * as z from 'zod';
import { loadZod } from '../internal/zod.js';

/**
 * Fenra's usage transaction: the one place that knows the wire shape of
 * `POST /usage/transactions` (see fenra-api.md). Every transaction we produce is validated
 * against it before it is queued, so a 400 from the server can only be a server-side rule.
 */

export const FENRA_PROVIDERS = [
  'openai',
  'gemini',
  'bedrock',
  'anthropic',
  'xai',
  'deepseek',
  'custom',
] as const;
export const USAGE_TYPES = ['tokens', 'images', 'audio', 'video', 'requests', 'custom'] as const;

/**
 * Built at first use, not when the module loads: building zod schemas costs start-up time to
 * every process that loads this code (the register entry) and never renders a transaction.
 */
function build() {
  const z = loadZod();
  const metricValue = z.number().finite().nonnegative();
  const usageEntry = z.strictObject({
    type: z.enum(USAGE_TYPES),
    metrics: z.record(z.string().min(1), metricValue).refine((m) => Object.keys(m).length > 0, {
      message: 'metrics must not be empty',
    }),
  });
  const contextValue = z.union([z.string(), z.number().finite(), z.boolean()]);
  const context = z.object({ billable_customer_id: z.string().min(1) }).catchall(contextValue);
  const transaction = z.strictObject({
    provider: z.enum(FENRA_PROVIDERS),
    model: z.string().min(1),
    model_tier: z.string().min(1).optional(),
    usage: z
      .array(usageEntry)
      .min(1)
      .refine((u) => new Set(u.map((e) => e.type)).size === u.length, {
        message: 'each usage type may appear at most once',
      }),
    context,
  });
  return { usageEntry, context, transaction };
}

type Schemas = ReturnType<typeof build>;
let built: Schemas | undefined;

/** The wire schemas: `transaction` (one transaction), `usageEntry`, `context`. */
export function transactionSchemas(): Schemas {
  return (built ??= build());
}

/** The schema of one transaction (see {@link transactionSchemas}). */
export function fenraTransactionSchema(): Schemas['transaction'] {
  return transactionSchemas().transaction;
}

export type FenraTransaction = z.infer<Schemas['transaction']>;
export type UsageEntry = z.infer<Schemas['usageEntry']>;

/** The bulk request body. */
export interface BulkRequestBody {
  transactions: FenraTransaction[];
}
