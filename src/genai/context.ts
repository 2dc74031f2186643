import type { AttrValue, Attributes } from '../span/span-view.js';
import { MAX_CONTEXT_KEY_LENGTH, MAX_CONTEXT_VALUE_LENGTH } from './limits.js';
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

/** Every attribute key attribution reads under `options` (besides `fenra.context.*`). */
export function attributionKeys(options: ContextOptions = {}): string[] {
  return [
    ...(options.customerIdKeys ?? DEFAULT_CUSTOMER_ID_KEYS),
    ...ENVIRONMENT_KEYS,
    ...USER_ID_KEYS,
    ...SESSION_ID_KEYS,
    ...FEATURE_KEYS,
    ...(options.contextKeys ?? []),
  ];
}

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

const MAX_VALUE_LENGTH = MAX_CONTEXT_VALUE_LENGTH;
const MAX_KEY_LENGTH = MAX_CONTEXT_KEY_LENGTH;

/** Text as a context value: cut to {@link MAX_VALUE_LENGTH}. */
function capped(s: string): string {
  return s.length > MAX_VALUE_LENGTH ? s.slice(0, MAX_VALUE_LENGTH) : s;
}

function scalar(v: AttrValue | undefined): ContextValue | undefined {
  if (typeof v === 'string')
    return v.length === 0 ? undefined : v.length > MAX_VALUE_LENGTH ? v.slice(0, MAX_VALUE_LENGTH) : v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'boolean') return v;
  return undefined;
}

/**
 * The key lists of one configuration (customer keys, the fixed lists, the allow-list), indexed
 * so that one pass over a layer's keys finds every list's answer on that layer: a key → the
 * lists it belongs to and its rank in each. Attribute objects are large dictionaries and most
 * probed keys are absent, so one walk over the keys present beats probing every listed key on
 * every layer.
 */
interface ContextPlan {
  /** key → (list << 8 | rank) for each list holding it. */
  index: Map<string, number[]>;
  lists: number;
  /** The allow-listed keys, one single-key list each, from list ALLOWED onwards. */
  allowed: readonly string[];
  /**
   * Scratch answers of one resolution (each list's best rank and value so far), reset at its
   * start: resolutions are synchronous and never nested, so one pair per plan serves them all.
   */
  ranks: number[];
  found: (ContextValue | undefined)[];
}

const CUSTOMER = 0;
const ENVIRONMENT = 1;
const USER = 2;
const SESSION = 3;
const FEATURE = 4;
const ALLOWED = 5;
const MAX_RANK = 255;

const plans = new WeakMap<readonly string[], Map<readonly string[] | undefined, ContextPlan>>();

function planFor(customerKeys: readonly string[], allowed: readonly string[] | undefined): ContextPlan {
  let byAllowed = plans.get(customerKeys);
  if (byAllowed === undefined) plans.set(customerKeys, (byAllowed = new Map()));
  let plan = byAllowed.get(allowed);
  if (plan === undefined) {
    const lists: (readonly string[])[] = [
      customerKeys,
      ENVIRONMENT_KEYS,
      USER_ID_KEYS,
      SESSION_ID_KEYS,
      FEATURE_KEYS,
    ];
    const allowedKeys = (allowed ?? []).filter((k) => !RESERVED.has(k));
    for (const k of allowedKeys) lists.push([k]);
    const index = new Map<string, number[]>();
    lists.forEach((keys, list) => {
      keys.slice(0, MAX_RANK).forEach((key, rank) => {
        let at = index.get(key);
        if (at === undefined) index.set(key, (at = []));
        at.push((list << 8) | rank);
      });
    });
    plan = {
      index,
      lists: lists.length,
      allowed: allowedKeys,
      ranks: new Array<number>(lists.length),
      found: new Array<ContextValue | undefined>(lists.length),
    };
    // Plans are per configuration: a handful per process (bounded anyway).
    if (byAllowed.size < 64) byAllowed.set(allowed, plan);
  }
  return plan;
}

/** What one layer holds for a plan: each list's best (first valid) value and its rank. */
interface LayerScan {
  ranks: number[];
  values: (ContextValue | undefined)[];
  prefixed: Prefixed;
}

function scanLayer(a: Attributes, plan: ContextPlan): LayerScan {
  const ranks = new Array<number>(plan.lists).fill(MAX_RANK + 1);
  const values = new Array<ContextValue | undefined>(plan.lists);
  return { ranks, values, prefixed: scanInto(a, plan, ranks, values) };
}

/**
 * Scans one layer into the best answers so far (`ranks`, `values`, filled by the nearer layers
 * first): a key takes its list when its rank is lower than the best so far (a tie stays with the
 * nearer layer). Returns the layer's `fenra.context.*` entries.
 */
function scanInto(
  a: Attributes,
  plan: ContextPlan,
  ranks: number[],
  values: (ContextValue | undefined)[],
): Prefixed {
  let prefixed: Array<readonly [string, ContextValue]> | undefined;
  const index = plan.index;
  for (const key in a) {
    const at = index.get(key);
    if (at !== undefined) {
      for (let i = 0; i < at.length; i++) {
        const list = at[i]! >> 8;
        const rank = at[i]! & 0xff;
        if (rank >= ranks[list]!) continue;
        const v = scalar(a[key]);
        if (v === undefined) continue;
        ranks[list] = rank;
        values[list] = v;
      }
    }
    // 'f' first: most keys fail here without a string compare.
    if (key.charCodeAt(0) !== 102 || !key.startsWith(CONTEXT_PREFIX)) continue;
    const name = key.slice(CONTEXT_PREFIX.length);
    if (name === '' || name.length > MAX_KEY_LENGTH || RESERVED.has(name)) continue;
    const v = scalar(a[key]);
    if (v !== undefined) (prefixed ??= []).push([name, v]);
  }
  return prefixed ?? NONE;
}

/** Resource attributes never change: scanned once per resource and plan. */
const resourceScans = new WeakMap<Attributes, Map<ContextPlan, LayerScan>>();

function resourceScan(resource: Attributes, plan: ContextPlan): LayerScan {
  let byPlan = resourceScans.get(resource);
  if (byPlan === undefined) resourceScans.set(resource, (byPlan = new Map()));
  let scan = byPlan.get(plan);
  if (scan === undefined) {
    scan = scanLayer(resource, plan);
    if (byPlan.size < 64) byPlan.set(plan, scan);
  }
  return scan;
}

/** The context dimensions of one call: the billable customer and what else attribution found. */
export type TransactionContext = { billable_customer_id: string } & Record<string, ContextValue>;

export interface ResolvedContext {
  context: TransactionContext;
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

/** The layers' entries so far with one more layer's (a list only once a layer has some). */
function taken(so: Prefixed[] | undefined, p: Prefixed): Prefixed[] | undefined {
  if (p.length === 0) return so;
  if (so === undefined) return [p];
  so.push(p);
  return so;
}

/** Resolves the billable customer and the context dimensions of one call. */
export function resolveContext(
  call: ModelCall,
  layers: AttributionLayers,
  options: ContextOptions = {},
): ResolvedContext {
  const plan = planFor(options.customerIdKeys ?? DEFAULT_CUSTOMER_ID_KEYS, options.contextKeys);
  // Each list's answer across the layers, in the order attribution promises: the first key (in
  // key order) found on any layer, the nearest layer first (span, ancestors nearest first,
  // baggage, resource). Per layer that is its best rank; across layers, the lowest rank wins
  // and a tie goes to the nearer layer: the layers are scanned nearest first into one answer.
  const ranks = plan.ranks.fill(MAX_RANK + 1);
  const found = plan.found.fill(undefined);
  // The layers' fenra.context.* entries, nearest first (most layers have none).
  let prefixed = taken(undefined, scanInto(layers.span, plan, ranks, found));
  for (let i = 0; i < layers.ancestors.length; i++)
    prefixed = taken(prefixed, scanInto(layers.ancestors[i]!, plan, ranks, found));
  if (layers.baggage) prefixed = taken(prefixed, scanInto(layers.baggage, plan, ranks, found));
  const res = resourceScan(layers.resource, plan);
  for (let list = 0; list < plan.lists; list++) {
    if (res.ranks[list]! < ranks[list]!) {
      ranks[list] = res.ranks[list]!;
      found[list] = res.values[list];
    }
  }
  prefixed = taken(prefixed, res.prefixed);

  const ctx: Record<string, ContextValue> = {};
  // fenra.context.* attributes, farthest first, so nearer layers overwrite.
  if (prefixed !== undefined)
    for (let l = prefixed.length - 1; l >= 0; l--) for (const [k, v] of prefixed[l]!) ctx[k] = v;
  for (let i = 0; i < plan.allowed.length; i++) {
    const v = found[ALLOWED + i];
    if (v !== undefined) ctx[plan.allowed[i]!] = v;
  }
  const customer = found[CUSTOMER];
  ctx['billable_customer_id'] =
    customer !== undefined ? String(customer) : (options.defaultCustomerId ?? UNATTRIBUTED);
  const env = found[ENVIRONMENT];
  if (env !== undefined) ctx['environment'] = String(env);
  const service = resourceService(layers.resource) ?? scalar(layers.span['service.name']);
  if (service !== undefined) ctx['service'] = String(service);
  ctx['trace_id'] = call.span.traceId;
  ctx['span_id'] = call.span.spanId;
  ctx['operation'] = capped(call.operation);
  const user = found[USER];
  if (user !== undefined) ctx['user_id'] = String(user);
  const session = found[SESSION];
  if (session !== undefined) ctx['session_id'] = String(session);
  const feature = found[FEATURE];
  if (feature !== undefined) ctx['feature'] = String(feature);
  if (call.responseId !== undefined) ctx['request_id'] = capped(call.responseId);
  const p = call.provider;
  // The provider as the span spelt it, for custom providers (`mistral.chat`, `ollama`...);
  // Azure's canonical id (the span may only say `openai`, the host told us Azure).
  const raw =
    p.fenra === 'custom'
      ? (p.raw ?? p.canonical)
      : p.canonical?.startsWith('azure')
        ? p.canonical
        : undefined;
  if (raw !== undefined) ctx['provider_raw'] = capped(raw);
  if (p.fenra === 'bedrock' && call.region !== undefined) ctx['region'] = capped(call.region);
  if (call.usage?.estimated) ctx['usage_estimated'] = true;
  // Counts that contradicted the dialect's convention and were read the other way (F1, F3).
  if (call.usage?.anomalies) ctx['usage_corrected'] = capped(call.usage.anomalies.join(','));
  return {
    context: ctx as ResolvedContext['context'],
    attributed: customer !== undefined || options.defaultCustomerId !== undefined,
  };
}

const services = new WeakMap<Attributes, { v: ContextValue | undefined }>();
function resourceService(resource: Attributes): ContextValue | undefined {
  let s = services.get(resource);
  if (s === undefined) services.set(resource, (s = { v: scalar(resource['service.name']) }));
  return s.v;
}
