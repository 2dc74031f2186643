import { textIn } from '../attribute-scan.js';
import { K } from '../keys.js';
import type { Inclusivity } from '../usage.js';
import { normaliseUsage, readGenericCounts, SEMCONV_INCLUSIVE } from '../usage.js';
import type { Dialect } from './dialect.js';
import { classifySemconv } from './semconv.js';

/** The tracer of Microsoft Agent Framework (Python `agent-framework-core`). */
export const AGENT_FRAMEWORK_SCOPE = 'agent_framework';

/**
 * Its chat clients whose usage passes the provider's input count through as it is, WITHOUT
 * the cache reads and writes it reports beside it (Anthropic's Messages API, on its own and
 * through Bedrock, Vertex and Foundry; Bedrock Converse), by the `gen_ai.provider.name` each
 * client sets. Its OpenAI clients report input including the cache.
 */
const EXCLUSIVE_INPUT_PROVIDERS = new Set([
  'anthropic',
  'aws.bedrock',
  'google.vertex.ai',
  'azure.ai.foundry',
]);
const EXCLUSIVE_INPUT: Inclusivity = { inputIncludesCache: false, outputIncludesReasoning: true };

/**
 * Microsoft Agent Framework (Python; transcribed from agent-framework-core 1.13.0). Every span
 * is INTERNAL: `invoke_agent <agent>` (provider `microsoft.agent_framework`) sums the usage of
 * the `chat <model>` spans below it and is an aggregate; each `chat` span is one provider call,
 * its usage in the semconv names, input with or without the cache as its client reports it.
 */
export const agentFramework: Dialect = {
  id: 'microsoft-agent-framework',
  claims: (span) => span.scope.name === AGENT_FRAMEWORK_SCOPE,
  classify: (span, a) => classifySemconv(span, a, textIn(a, K.operationName)),
  usage(_span, a) {
    const provider = textIn(a, K.providerName)?.toLowerCase();
    const incl =
      provider !== undefined && EXCLUSIVE_INPUT_PROVIDERS.has(provider) ? EXCLUSIVE_INPUT : SEMCONV_INCLUSIVE;
    return normaliseUsage(readGenericCounts(a), incl);
  },
};
