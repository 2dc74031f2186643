import type { SpanView } from '../../span/span-view.js';
import { SpanKind } from '../../span/span-view.js';
import type { AttributeScan } from '../attribute-scan.js';
import { textIn } from '../attribute-scan.js';
import { K } from '../keys.js';
import { classifyOperation } from '../operation.js';
import { hasTokenCounts, normaliseUsage, readGenericCounts, SEMCONV_INCLUSIVE } from '../usage.js';
import type { ResolvedProvider, Usage } from '../types.js';
import type { Classification, Dialect } from './dialect.js';
import { NOT_GENAI } from './dialect.js';

/**
 * The OTel GenAI semantic conventions classification (v1.26 → current), shared by the
 * dialects that follow it. A span is a model call when its operation is a billable one, or,
 * with no operation (js-contrib Bedrock InvokeModel), when it names a GenAI system and carries
 * a model or usage. Agent, workflow and tool operations are never model calls.
 */
export function classifySemconv(span: SpanView, a: AttributeScan, op: string | undefined): Classification {
  if (op !== undefined) {
    const kind = classifyOperation(op);
    if (kind.billable) return { kind: 'call', operation: kind.operation };
    if (isRemoteAgent(span, a, op)) return { kind: 'call', operation: 'invoke_agent' };
    if (kind.known) {
      return hasTokenCounts(a)
        ? { kind: 'skip', reason: 'aggregate', detail: `operation '${op}' aggregates model calls` }
        : { kind: 'skip', reason: 'not_genai', detail: `operation '${op}' is not a model call` };
    }
    // An operation we don't know: a model call only if it has the marks of one.
    return hasTokenCounts(a) && hasModel(a)
      ? { kind: 'call', operation: op.toLowerCase() }
      : { kind: 'skip', reason: 'not_genai', detail: `operation '${op}' is not a known model call` };
  }
  if (textIn(a, K.providerOrSystem) === undefined) return NOT_GENAI;
  if (/^(?:agent run|invoke_agent|invoke_workflow)/.test(span.name)) {
    return hasTokenCounts(a)
      ? { kind: 'skip', reason: 'aggregate', detail: 'agent span repeats its model calls' }
      : NOT_GENAI;
  }
  if (hasModel(a) || hasTokenCounts(a)) return { kind: 'call', operation: 'chat' };
  return NOT_GENAI;
}

/**
 * A CLIENT `invoke_agent` span is a call to a remote agent (a hosted agent service): the model
 * calls happen on the other side, so its usage is the only record of them and it is billed,
 * unless a model call below it carries the usage (then it is a wrapper, see dedupe). An
 * INTERNAL `invoke_agent` sums its in-process children and is never billed.
 */
function isRemoteAgent(span: SpanView, a: AttributeScan, op: string): boolean {
  return (
    span.kind === SpanKind.CLIENT &&
    op.trim().toLowerCase() === 'invoke_agent' &&
    hasTokenCounts(a) &&
    hasModel(a)
  );
}

function hasModel(a: AttributeScan): boolean {
  return textIn(a, K.semconvModel) !== undefined;
}

export const semconv: Dialect = {
  id: 'semconv',
  claims: () => true,
  classify: (span, a) => classifySemconv(span, a, textIn(a, K.operationName)),
  usage(_span: SpanView, a: AttributeScan, _provider: ResolvedProvider): Usage | undefined {
    // Semconv: input includes the cache, output includes reasoning (Google ADK, which reports
    // Gemini's candidates only, has its own dialect).
    return normaliseUsage(readGenericCounts(a), SEMCONV_INCLUSIVE);
  },
};
