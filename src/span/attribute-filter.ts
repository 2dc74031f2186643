import type { AttrValue, Attributes, SpanView } from './span-view.js';
import { EMPTY_ATTRIBUTES, EMPTY_EVENTS } from './otlp-common.js';

/**
 * What is kept of one attribute's value: the value to hold (the same, or reduced to what is
 * read of it), or undefined to drop it. Must be idempotent: a value it returned, given again,
 * comes back equal.
 */
export type AttributeRule = (value: AttrValue) => AttrValue | undefined;

/**
 * Which attributes a span adapter keeps, for span and resource attributes alike: the rule for
 * a key, or undefined when the key is not kept. Keys repeat from span to span: a filter should
 * be cheap to ask twice. (The sidecar and `convert` keep only what billing reads: content is
 * never held, spooled or logged.)
 */
export type AttributeFilter = (key: string) => AttributeRule | undefined;

/** Longest span or scope name kept under a filter (names are read by prefix, never whole). */
export const MAX_FILTERED_NAME_LENGTH = 1024;

/** A span or scope name as kept under a filter. */
export function boundedName(name: string): string {
  return name.length > MAX_FILTERED_NAME_LENGTH ? name.slice(0, MAX_FILTERED_NAME_LENGTH) : name;
}

function boundedScope(scope: SpanView['scope']): SpanView['scope'] {
  const name = boundedName(scope.name);
  const version = scope.version === undefined ? undefined : boundedName(scope.version);
  if (name === scope.name && version === scope.version) return scope;
  return version === undefined ? { name } : { name, version };
}

/** The attributes a filter keeps, each through its rule; the same object when nothing changes. */
export function filterAttributes(attrs: Attributes, filter: AttributeFilter): Attributes {
  let out: Record<string, AttrValue> | undefined;
  for (const key in attrs) {
    const v = attrs[key];
    if (v === undefined) continue;
    const rule = filter(key);
    const kept = rule === undefined ? undefined : rule(v);
    if (out === undefined) {
      if (kept === v) continue;
      out = copyBefore(attrs, key);
    }
    if (kept !== undefined) out[key] = kept;
  }
  if (out === undefined) return attrs;
  return Object.keys(out).length === 0 ? EMPTY_ATTRIBUTES : out;
}

/** The entries of `attrs` before `stop` (in order), all kept as they are. */
function copyBefore(attrs: Attributes, stop: string): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const key in attrs) {
    if (key === stop) break;
    const v = attrs[key];
    if (v !== undefined) out[key] = v;
  }
  return out;
}

/** Filtered resources, by filter and resource object: spans of one resource keep sharing one. */
const resources = new WeakMap<AttributeFilter, WeakMap<Attributes, Attributes>>();

function filterResource(resource: Attributes, filter: AttributeFilter): Attributes {
  let byResource = resources.get(filter);
  if (byResource === undefined) resources.set(filter, (byResource = new WeakMap()));
  let kept = byResource.get(resource);
  if (kept === undefined) {
    kept = filterAttributes(resource, filter);
    byResource.set(resource, kept);
    byResource.set(kept, kept);
  }
  return kept;
}

/**
 * The span as a filter keeps it: span and resource attributes through the filter, no events,
 * the status without its message (free text), names bounded. The same object when there is
 * nothing to drop.
 */
export function filterSpan(span: SpanView, filter: AttributeFilter): SpanView {
  const attributes = filterAttributes(span.attributes, filter);
  const resource = filterResource(span.resource, filter);
  const status = span.status.message === undefined ? span.status : { code: span.status.code };
  const name = boundedName(span.name);
  const scope = boundedScope(span.scope);
  if (
    attributes === span.attributes &&
    resource === span.resource &&
    status === span.status &&
    name === span.name &&
    scope === span.scope &&
    span.events.length === 0
  )
    return span;
  return { ...span, name, scope, attributes, resource, status, events: EMPTY_EVENTS };
}
