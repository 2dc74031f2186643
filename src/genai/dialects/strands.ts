import type { SpanView } from '../../span/span-view.js';
import type { AttributeScan } from '../attribute-scan.js';
import { textIn } from '../attribute-scan.js';
import { K } from '../keys.js';
import type { Inclusivity } from '../usage.js';
import { normaliseUsage, readGenericCounts, SEMCONV_INCLUSIVE } from '../usage.js';
import type { ResolvedProvider } from '../types.js';
import type { Dialect } from './dialect.js';
import { classifySemconv } from './semconv.js';

/** The tracer of Strands Agents (Python `strands-agents`), and the system it names on its spans. */
export const STRANDS_SCOPE = 'strands.telemetry.tracer';
const STRANDS_SYSTEM = 'strands-agents';

const EXCLUSIVE_INPUT: Inclusivity = { inputIncludesCache: false, outputIncludesReasoning: true };

const isStrands = (span: SpanView, a: AttributeScan): boolean =>
  span.scope.name === STRANDS_SCOPE || textIn(a, K.providerOrSystem) === STRANDS_SYSTEM;

/**
 * Strands Agents (Python; transcribed from strands-agents 1.40.0). Spans: `invoke_agent
 * <agent>` with the run's accumulated usage (an aggregate), `execute_event_loop_cycle` (no
 * usage), `chat` (one model call) and `execute_tool <tool>`. `gen_ai.system` (or, with the
 * latest conventions, `gen_ai.provider.name`) is the framework; the model id names the
 * provider. Strands reports every model's usage in Bedrock Converse's shape: `inputTokens` is
 * what the provider calls input, so WITHOUT the cache for Bedrock (its default) and Anthropic,
 * with it for OpenAI and LiteLLM; the cache counts as `gen_ai.usage.cache_read_input_tokens` /
 * `cache_write_input_tokens`.
 */
export const strands: Dialect = {
  id: 'strands',
  claims: isStrands,
  classify: (span, a) => classifySemconv(span, a, textIn(a, K.operationName)),
  usage(_span, a, provider: ResolvedProvider) {
    const c = provider.canonical;
    const incl = c === 'aws.bedrock' || c === 'anthropic' ? EXCLUSIVE_INPUT : SEMCONV_INCLUSIVE;
    return normaliseUsage(readGenericCounts(a), incl);
  },
};
