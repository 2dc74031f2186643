/**
 * Operation names: which ones are provider calls we bill, which are framework/agent spans
 * that only aggregate their children. Values from the semconv enum and from the wild.
 */

const BILLABLE: Readonly<Record<string, string>> = {
  chat: 'chat',
  'chat.completions': 'chat',
  // LiteLLM's call types (`llm.request.type`).
  acompletion: 'chat',
  aembedding: 'embeddings',
  chat_completions: 'chat',
  responses: 'chat',
  text_completion: 'text_completion',
  'text.completions': 'text_completion',
  completion: 'text_completion',
  generate_content: 'generate_content',
  generate: 'generate_content',
  embeddings: 'embeddings',
  embedding: 'embeddings',
  embed: 'embeddings',
  image_generation: 'image',
  image: 'image',
  audio: 'audio',
  text_to_speech: 'audio',
  speech_to_text: 'audio',
  translate: 'audio',
  rerank: 'rerank',
  // semantic-conventions-genai: polling a background response (the poll that returns the
  // finished response carries its usage) and a Realtime / Gemini Live generation.
  fetch_response: 'fetch_response',
  generate_live_content: 'generate_live_content',
};

const NOT_A_CALL = new Set([
  'invoke_agent',
  'create_agent',
  'execute_tool',
  'invoke_workflow',
  'retrieval',
  'handle_conversation_turn',
  'agent_step',
  'chain',
  'plan',
  'search_memory',
  'create_memory',
  'update_memory',
  'upsert_memory',
  'delete_memory',
  'create_memory_store',
  'delete_memory_store',
  'guardrail.run',
  'guard',
  'vectordb',
  'execute_task',
  'workflow',
  'task',
  'agent',
  'tool',
  'unknown',
]);

export type OperationKind = { billable: true; operation: string } | { billable: false; known: boolean };

export function classifyOperation(op: string): OperationKind {
  const o = op.trim().toLowerCase();
  const b = BILLABLE[o];
  if (b) return { billable: true, operation: b };
  return { billable: false, known: NOT_A_CALL.has(o) };
}
