import type { SpanView } from '../../span/span-view.js';
import type { AttributeScan } from '../attribute-scan.js';
import { hasIn, jsonIn, keyList, parseCount, textIn } from '../attribute-scan.js';
import { K } from '../keys.js';
import { countsOnly } from '../reduce-json.js';
import type { RawCounts } from '../usage.js';
import { mergeCounts, normaliseUsage, readGenericCounts, SEMCONV_INCLUSIVE } from '../usage.js';
import type { Dialect } from './dialect.js';
import { classifySemconv } from './semconv.js';

/** LangChain's usage details, as LangSmith writes them (JSON strings). */
const INPUT_DETAILS = keyList(
  ['gen_ai.usage.input_token_details'],
  countsOnly({ cache_read: 0, cache_creation: 0, audio: 0 }),
);
const OUTPUT_DETAILS = keyList(['gen_ai.usage.output_token_details'], countsOnly({ reasoning: 0, audio: 0 }));

const count = (o: Record<string, unknown> | undefined, key: string): number | undefined =>
  parseCount(o?.[key]);
/** A count where 0 means not reported (LangChain fills absent modality parts with 0). */
const nonZero = (n: number | undefined): number | undefined => (n === 0 ? undefined : n);

/**
 * The parts of a LangChain `usage_metadata` LangSmith puts in JSON attributes: input details
 * `cache_read`, `cache_creation`, `audio`; output details `reasoning`, `audio`. Only these
 * numbers are read.
 */
function detailCounts(a: AttributeScan): RawCounts | undefined {
  const input = jsonIn(a, INPUT_DETAILS);
  const output = jsonIn(a, OUTPUT_DETAILS);
  if (input === undefined && output === undefined) return undefined;
  return {
    cacheRead: count(input, 'cache_read'),
    cacheWrite: count(input, 'cache_creation'),
    audioIn: nonZero(count(input, 'audio')),
    reasoning: count(output, 'reasoning'),
    audioOut: nonZero(count(output, 'audio')),
  };
}

const isLangsmith = (span: SpanView, a: AttributeScan): boolean =>
  span.scope.name === 'langsmith' || hasIn(a, INPUT_DETAILS) || hasIn(a, OUTPUT_DETAILS);

/**
 * LangSmith's OpenTelemetry mode (JS `langsmith` with `LANGSMITH_TRACING_MODE=otel`, recorded
 * with 0.12.0): runs become spans with `gen_ai.operation.name` from the run type (`chat` for
 * llm runs, `chain`, `execute_tool`...), `gen_ai.system=langchain` (a framework: the provider
 * is `langsmith.metadata.ls_provider` or the model), and LangChain's `usage_metadata`:
 * `gen_ai.usage.input_tokens` INCLUDES the cache (LangChain's convention), the split only in
 * the JSON attributes read here.
 */
export const langsmith: Dialect = {
  id: 'langsmith',
  claims: isLangsmith,
  classify: (span, a) => classifySemconv(span, a, textIn(a, K.operationName)),
  usage: (_span, a) => normaliseUsage(mergeCounts(readGenericCounts(a), detailCounts(a)), SEMCONV_INCLUSIVE),
};
