import type { AttrValue, Attributes } from '../span/span-view.js';
import type { ModelCall } from './types.js';

/**
 * Attribution: which customer a call is billed to, and the context dimensions sent with it.
 * Only the keys named here, `fenra.context.*` attributes and the user's allow-list ever leave
 * the process.
 */

/** The value used when no key matched and no default is configured. Counted. */
export const UNATTRIBUTED = 'unattributed';

/**
 * Default ordered keys for the billable customer id. The explicit Fenra key first, then the
 * customer keys of the instrumentations that have one, then user identity keys (for apps
 * whose customers are their users).
 */
export const DEFAULT_CUSTOMER_ID_KEYS: readonly string[] = [
  'fenra.billable_customer_id',
  'traceloop.association.properties.customer_id',
  'ai.telemetry.metadata.customerId',
  'ai.telemetry.metadata.customer_id',
  'ai.settings.context.customerId',
  'langfuse.trace.metadata.customer_id',
  'customer.id',
  'tenant.id',
  'user.id',
  'enduser.id',
  'langfuse.user.id',
  'traceloop.association.properties.user_id',
  'ai.telemetry.metadata.userId',
];

export const ENVIRONMENT_KEYS = [
  'deployment.environment.name',
  'deployment.environment',
  'langfuse.environment',
];
export const USER_ID_KEYS = [
  'user.id',
  'enduser.id',
  'langfuse.user.id',
  'traceloop.association.properties.user_id',
  'ai.telemetry.metadata.userId',
  'ai.settings.context.userId',
];
export const SESSION_ID_KEYS = [
  'session.id',
  'gen_ai.conversation.id',
  'langfuse.session.id',
  'traceloop.association.properties.session_id',
  'ai.telemetry.metadata.sessionId',
  'ai.settings.context.sessionId',
];
export const FEATURE_KEYS = ['fenra.feature', 'ai.telemetry.functionId'];
export const CONTEXT_PREFIX = 'fenra.context.';

/** Where attribution is looked up, in this order. */
export interface AttributionLayers {
  span: Attributes;
  /** Ancestor spans' attributes, nearest first (in-process: the carried attributes). */
  ancestors: readonly Attributes[];
  /** Baggage entries as attributes. */
  baggage?: Attributes | undefined;
  resource: Attributes;
}

export interface ContextOptions {
  customerIdKeys?: readonly string[];
  defaultCustomerId?: string | undefined;
  /** Extra attribute keys copied into context as they are (the allow-list). */
  contextKeys?: readonly string[];
}

export type ContextValue = string | number | boolean;

const MAX_VALUE_LENGTH = 256;
const MAX_KEY_LENGTH = 128;

function scalar(v: AttrValue | undefined): ContextValue | undefined {
  if (typeof v === 'string')
    return v.length === 0 ? undefined : v.length > MAX_VALUE_LENGTH ? v.slice(0, MAX_VALUE_LENGTH) : v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'boolean') return v;
  return undefined;
}

/** The first key (in key order) found on any layer (in layer order). */
export function lookup(layers: AttributionLayers, keys: readonly string[]): ContextValue | undefined {
  return lookupWith(layers, keys, firstHit(layers.resource, keys));
}

/** Where a key list first hits on a resource: the key's index and its value. */
interface Hit {
  index: number;
  value: ContextValue | undefined;
}
const NO_HIT: Hit = { index: -1, value: undefined };

/**
 * `lookup` with the resource's answer known: keys after the resource's first hit cannot win
 * (an earlier key on any layer beats a later one), so they are not probed anywhere.
 */
function lookupWith(layers: AttributionLayers, keys: readonly string[], res: Hit): ContextValue | undefined {
  const { span, ancestors, baggage } = layers;
  const last = res.index >= 0 ? res.index : keys.length - 1;
  for (let i = 0; i <= last; i++) {
    const key = keys[i]!;
    let v = scalar(span[key]);
    if (v !== undefined) return v;
    for (let j = 0; j < ancestors.length; j++) {
      v = scalar(ancestors[j]![key]);
      if (v !== undefined) return v;
    }
    if (baggage) {
      v = scalar(baggage[key]);
      if (v !== undefined) return v;
    }
  }
  return res.value;
}

function firstHit(resource: Attributes, keys: readonly string[]): Hit {
  for (let i = 0; i < keys.length; i++) {
    const value = scalar(resource[keys[i]!]);
    if (value !== undefined) return { index: i, value };
  }
  return NO_HIT;
}

/** Resource attributes never change: what each key list finds there is read once per resource. */
interface ResourceInfo {
  prefixed: Prefixed;
  hits: Map<readonly string[], Hit>;
  service: ContextValue | undefined;
}
const resourceInfos = new WeakMap<Attributes, ResourceInfo>();

function resourceInfo(resource: Attributes): ResourceInfo {
  let info = resourceInfos.get(resource);
  if (info === undefined) {
    info = { prefixed: prefixedOf(resource), hits: new Map(), service: scalar(resource['service.name']) };
    resourceInfos.set(resource, info);
  }
  return info;
}

function resourceHit(resource: Attributes, keys: readonly string[], info = resourceInfo(resource)): Hit {
  let hit = info.hits.get(keys);
  if (hit === undefined) {
    hit = firstHit(resource, keys);
    // Key lists here are the module's constants and the configured customer keys.
    if (info.hits.size < 16) info.hits.set(keys, hit);
  }
  return hit;
}

export interface ResolvedContext {
  context: { billable_customer_id: string } & Record<string, ContextValue>;
  attributed: boolean;
}

const RESERVED = new Set([
  'billable_customer_id',
  'environment',
  'service',
  'trace_id',
  'span_id',
  'operation',
  'user_id',
  'session_id',
  'feature',
  'request_id',
  'provider_raw',
  'region',
  'usage_estimated',
  'usage_corrected',
]);

type Prefixed = ReadonlyArray<readonly [string, ContextValue]>;
const NONE: Prefixed = [];

function prefixedOf(a: Attributes): Prefixed {
  let found: Array<readonly [string, ContextValue]> | undefined;
  for (const key in a) {
    // 'f' first: most keys fail here without a string compare.
    if (key.charCodeAt(0) !== 102 || !key.startsWith(CONTEXT_PREFIX)) continue;
    const name = key.slice(CONTEXT_PREFIX.length);
    if (name === '' || name.length > MAX_KEY_LENGTH || RESERVED.has(name)) continue;
    const v = scalar(a[key]);
    if (v !== undefined) (found ??= []).push([name, v]);
  }
  return found ?? NONE;
}

function collectPrefixed(
  layers: AttributionLayers,
  fromResource: Prefixed,
  out: Record<string, ContextValue>,
): void {
  // Farthest first, so nearer layers overwrite.
  for (const [k, v] of fromResource) out[k] = v;
  if (layers.baggage) for (const [k, v] of prefixedOf(layers.baggage)) out[k] = v;
  for (let i = layers.ancestors.length - 1; i >= 0; i--) {
    for (const [k, v] of prefixedOf(layers.ancestors[i]!)) out[k] = v;
  }
  for (const [k, v] of prefixedOf(layers.span)) out[k] = v;
}

/** Resolves the billable customer and the context dimensions of one call. */
export function resolveContext(
  call: ModelCall,
  layers: AttributionLayers,
  options: ContextOptions = {},
): ResolvedContext {
  const res = resourceInfo(layers.resource);
  const customerKeys = options.customerIdKeys ?? DEFAULT_CUSTOMER_ID_KEYS;
  const found = lookupWith(layers, customerKeys, resourceHit(layers.resource, customerKeys, res));
  const customer = found !== undefined ? String(found) : options.defaultCustomerId;
  const ctx: Record<string, ContextValue> = {};
  collectPrefixed(layers, res.prefixed, ctx);
  if (options.contextKeys) {
    for (const key of options.contextKeys) {
      const v = lookup(layers, [key]);
      if (v !== undefined && !RESERVED.has(key)) ctx[key] = v;
    }
  }
  ctx['billable_customer_id'] = customer ?? UNATTRIBUTED;
  const env = lookupWith(layers, ENVIRONMENT_KEYS, resourceHit(layers.resource, ENVIRONMENT_KEYS, res));
  if (env !== undefined) ctx['environment'] = String(env);
  const service = res.service ?? scalar(layers.span['service.name']);
  if (service !== undefined) ctx['service'] = String(service);
  ctx['trace_id'] = call.span.traceId;
  ctx['span_id'] = call.span.spanId;
  ctx['operation'] = call.operation;
  const user = lookupWith(layers, USER_ID_KEYS, resourceHit(layers.resource, USER_ID_KEYS, res));
  if (user !== undefined) ctx['user_id'] = String(user);
  const session = lookupWith(layers, SESSION_ID_KEYS, resourceHit(layers.resource, SESSION_ID_KEYS, res));
  if (session !== undefined) ctx['session_id'] = String(session);
  const feature = lookupWith(layers, FEATURE_KEYS, resourceHit(layers.resource, FEATURE_KEYS, res));
  if (feature !== undefined) ctx['feature'] = String(feature);
  if (call.responseId !== undefined) ctx['request_id'] = call.responseId;
  const p = call.provider;
  // The provider as the span spelt it, for custom providers (`mistral.chat`, `ollama`...);
  // Azure's canonical id (the span may only say `openai`, the host told us Azure).
  const raw =
    p.fenra === 'custom'
      ? (p.raw ?? p.canonical)
      : p.canonical?.startsWith('azure')
        ? p.canonical
        : undefined;
  if (raw !== undefined) ctx['provider_raw'] = raw;
  if (p.fenra === 'bedrock' && call.region !== undefined) ctx['region'] = call.region;
  if (call.usage?.estimated) ctx['usage_estimated'] = true;
  // Counts that contradicted the dialect's convention and were read the other way (F1, F3).
  if (call.usage?.anomalies) ctx['usage_corrected'] = call.usage.anomalies.join(',');
  return {
    context: ctx as ResolvedContext['context'],
    attributed: found !== undefined || options.defaultCustomerId !== undefined,
  };
}
