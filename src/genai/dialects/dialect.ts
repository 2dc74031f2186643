import type { SpanView } from '../../span/span-view.js';
import type { DialectId, ResolvedProvider, Usage } from '../types.js';

export type Classification =
  { kind: 'call'; operation: string } | { kind: 'skip'; reason: 'not_genai' | 'aggregate'; detail: string };

/**
 * One attribute family. `claims` is a cheap test run on every span; the first dialect that
 * claims a span reads it.
 */
export interface Dialect {
  readonly id: DialectId;
  claims(span: SpanView): boolean;
  classify(span: SpanView): Classification;
  usage(span: SpanView, provider: ResolvedProvider): Usage | undefined;
}

export const NOT_GENAI: Classification = { kind: 'skip', reason: 'not_genai', detail: 'not a model call' };
