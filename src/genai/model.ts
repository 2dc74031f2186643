import { firstString } from '../span/attributes.js';
import type { Attributes } from '../span/span-view.js';
import type { AttributeScan } from './attribute-scan.js';
import { keyList, textIn } from './attribute-scan.js';
import { K } from './keys.js';

/** Where instrumentations put the model the provider answered with. */
const RESPONSE_MODEL_KEYS = [
  'gen_ai.response.model',
  'llm.response.model_name',
  'ai.response.model',
  // OpenInference's llm.model_name holds the response model in the JS instrumentations.
  'llm.model_name',
] as const;

/** Where instrumentations put the model that was asked for. */
const REQUEST_MODEL_KEYS = [
  'gen_ai.request.model',
  'llm.request.model_name',
  'langfuse.observation.model.name',
  'ai.model.id',
  'llm.request.model',
  'model',
] as const;

export interface ModelIds {
  request: string | undefined;
  response: string | undefined;
}

const REQUEST_MODEL = keyList(REQUEST_MODEL_KEYS);
const RESPONSE_MODEL = keyList(RESPONSE_MODEL_KEYS);

export function readModelIds(a: AttributeScan): ModelIds {
  return { request: textIn(a, REQUEST_MODEL), response: textIn(a, RESPONSE_MODEL) };
}

/**
 * The model to bill: the response model (the exact model that ran), else the request model.
 * For Azure OpenAI the request model is a deployment name: the configured deployment map wins
 * over it, and the response model (which Azure fills with the real model) over both.
 */
export function chooseModel(
  ids: ModelIds,
  canonicalProvider: string | undefined,
  azureDeployments: Readonly<Record<string, string>> | undefined,
): string | undefined {
  if (canonicalProvider === 'azure.ai.openai' || canonicalProvider === 'azure.ai.inference') {
    const mapped = ids.request !== undefined ? azureDeployments?.[ids.request] : undefined;
    return normaliseModelId(ids.response ?? mapped ?? ids.request);
  }
  return normaliseModelId(ids.response ?? ids.request);
}

/**
 * Normalises a model id for billing without losing what prices depend on:
 * - Vertex resource paths (`projects/p/locations/l/publishers/google/models/gemini-2.5-pro`,
 *   `publishers/google/models/x`, `models/x`) → the bare model id;
 * - Bedrock ids keep their geo/global profile prefix (`us.`, `eu.`, `global.`) and version
 *   suffix (prices differ by profile); a Bedrock inference-profile ARN becomes the profile id;
 *   an application-inference-profile ARN is opaque and kept as is.
 */
export function normaliseModelId(model: string | undefined): string | undefined {
  if (model === undefined) return undefined;
  let m = model.trim();
  if (m === '') return undefined;
  if (m.startsWith('arn:aws:bedrock:')) {
    const m2 = /:(?:inference-profile|foundation-model)\/(.+)$/.exec(m);
    return m2?.[1] ?? m;
  }
  const publishers = m.lastIndexOf('/models/');
  if (publishers >= 0 && (m.startsWith('projects/') || m.startsWith('publishers/'))) {
    m = m.slice(publishers + '/models/'.length);
  } else if (m.startsWith('models/')) {
    m = m.slice('models/'.length);
  }
  return m === '' ? undefined : m;
}

/** Region for region-dependent prices: `cloud.region`, `aws.region`, or the region in a Bedrock ARN. */
export function readRegion(
  a: AttributeScan,
  resource: Attributes,
  model: string | undefined,
): string | undefined {
  const fromArn = model?.startsWith('arn:aws:bedrock:') ? model.split(':')[3] : undefined;
  return (
    textIn(a, K.region) ??
    (fromArn !== undefined && fromArn !== '' ? fromArn : undefined) ??
    firstString(resource, ['cloud.region'])
  );
}

/** Vendor-prefixed gateway ids (`openai/gpt-4o` on OpenRouter or the AI Gateway) → the bare id. */
export function stripGatewayVendor(model: string): string {
  const slash = model.indexOf('/');
  return slash > 0 && !model.startsWith('arn:') ? model.slice(slash + 1) : model;
}
