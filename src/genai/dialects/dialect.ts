import type { SpanView } from '../../span/span-view.js';
import type { AttributeScan } from '../attribute-scan.js';
import type { DialectId, ResolvedProvider, Usage } from '../types.js';

export type Classification =
  { kind: 'call'; operation: string } | { kind: 'skip'; reason: 'not_genai' | 'aggregate'; detail: string };

/**
 * One attribute family. `claims` is a cheap test run on every GenAI-marked span; the first
 * dialect that claims a span reads it. Each method gets the span and the scan of its
 * attributes (read attributes through the scan: see attribute-scan.ts).
 */
export interface Dialect {
  readonly id: DialectId;
  claims(span: SpanView, a: AttributeScan): boolean;
  classify(span: SpanView, a: AttributeScan): Classification;
  usage(span: SpanView, a: AttributeScan, provider: ResolvedProvider): Usage | undefined;
}

export const NOT_GENAI: Classification = { kind: 'skip', reason: 'not_genai', detail: 'not a model call' };
