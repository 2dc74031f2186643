import * as z from 'zod';

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

const metricValue = z.number().finite().nonnegative();

export const UsageEntrySchema = z.strictObject({
  type: z.enum(USAGE_TYPES),
  metrics: z.record(z.string().min(1), metricValue).refine((m) => Object.keys(m).length > 0, {
    message: 'metrics must not be empty',
  }),
});

const contextValue = z.union([z.string(), z.number().finite(), z.boolean()]);

export const TransactionContextSchema = z
  .object({ billable_customer_id: z.string().min(1) })
  .catchall(contextValue);

export const FenraTransactionSchema = z.strictObject({
  provider: z.enum(FENRA_PROVIDERS),
  model: z.string().min(1),
  model_tier: z.string().min(1).optional(),
  usage: z
    .array(UsageEntrySchema)
    .min(1)
    .refine((u) => new Set(u.map((e) => e.type)).size === u.length, {
      message: 'each usage type may appear at most once',
    }),
  context: TransactionContextSchema,
});

export type FenraTransaction = z.infer<typeof FenraTransactionSchema>;
export type UsageEntry = z.infer<typeof UsageEntrySchema>;

/** The bulk request body. */
export interface BulkRequestBody {
  transactions: FenraTransaction[];
}
