import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { YieldingType, YieldWatch } from '../../src/register/yield-to-app.js';
import { yieldToLateRegistrations } from '../../src/register/yield-to-app.js';

// The watch over `globalThis[Symbol.for('opentelemetry.js.api.1')]`, driven the way every
// @opentelemetry/api 1.x copy drives it (the end-to-end tests use the real API and SDKs).
const KEY = Symbol.for('opentelemetry.js.api.1');
const g = globalThis as unknown as Record<symbol, unknown>;

/** As `registerGlobal` does: read the slot, assign it back, check the type, the version, set. */
function register(type: string, instance: unknown, version: string): boolean {
  const api = (g[KEY] = (g[KEY] as Record<string, unknown> | undefined) ?? { version }) as Record<
    string,
    unknown
  >;
  if (api[type]) return false;
  if (api['version'] !== version) return false;
  api[type] = instance;
  return true;
}

/** As `getGlobal` does. */
function lookup(type: string): unknown {
  const v = (g[KEY] as Record<string, unknown> | undefined)?.['version'];
  if (!v) return undefined;
  return (g[KEY] as Record<string, unknown> | undefined)?.[type];
}

let saved: PropertyDescriptor | undefined;
let watch: YieldWatch | undefined;
let events: string[];

beforeEach(() => {
  saved = Object.getOwnPropertyDescriptor(g, KEY);
  delete g[KEY];
  events = [];
  expect(register('trace', 'our-trace', '1.9.1')).toBe(true);
  expect(register('context', 'our-context', '1.9.1')).toBe(true);
  expect(register('propagation', 'our-propagation', '1.9.1')).toBe(true);
  watch = yieldToLateRegistrations({
    onYield: (t: YieldingType) => events.push(`yield:${t}`),
    onFailed: (t: YieldingType) => events.push(`failed:${t}`),
  });
});

afterEach(() => {
  watch?.dispose();
  delete g[KEY];
  if (saved) Object.defineProperty(g, KEY, saved);
});

describe('yieldToLateRegistrations', () => {
  it('lookups see our globals as before', () => {
    expect(watch).toBeDefined();
    expect(lookup('trace')).toBe('our-trace');
    expect(lookup('context')).toBe('our-context');
    expect(lookup('propagation')).toBe('our-propagation');
  });

  it("lets the app's first registration of each type through, once, and says so", () => {
    expect(register('context', 'app-context', '1.9.1')).toBe(true);
    expect(register('trace', 'app-trace', '1.9.1')).toBe(true);
    expect(lookup('trace')).toBe('app-trace');
    expect(lookup('context')).toBe('app-context');
    expect(lookup('propagation')).toBe('our-propagation');
    expect(events).toEqual(['yield:context', 'yield:trace']);
    // A second registration is refused, as OpenTelemetry always does.
    expect(register('trace', 'another', '1.9.1')).toBe(false);
    expect(lookup('trace')).toBe('app-trace');
    expect([...watch!.yielded]).toEqual(['context', 'trace']);
  });

  it('registrations of other types, and lookups between them, change nothing', () => {
    expect(register('metrics', 'app-metrics', '1.9.1')).toBe(true);
    expect(register('metrics', 'again', '1.9.1')).toBe(false); // refused: the slot stays armed…
    expect(lookup('trace')).toBe('our-trace'); // …but a lookup reads the version first
    expect(register('diag', 'logger', '1.9.1')).toBe(true);
    expect(lookup('trace')).toBe('our-trace');
    expect(events).toEqual([]);
  });

  it('a registration from another exact API version still fails, and is reported', async () => {
    expect(register('trace', 'app-trace', '1.8.0')).toBe(false);
    expect(lookup('trace')).toBe('our-trace');
    await Promise.resolve();
    expect(events).toEqual(['failed:trace']);
  });

  it('dispose leaves plain properties with the current values', () => {
    register('trace', 'app-trace', '1.9.1');
    watch!.dispose();
    const api = g[KEY] as Record<string, unknown>;
    expect(Object.getOwnPropertyDescriptor(api, 'trace')).toMatchObject({
      value: 'app-trace',
      writable: true,
    });
    expect(Object.getOwnPropertyDescriptor(g, KEY)).toMatchObject({ writable: true });
    expect(register('trace', 'x', '1.9.1')).toBe(false);
  });

  it('watches nothing when no global was registered', () => {
    watch!.dispose();
    delete g[KEY];
    expect(yieldToLateRegistrations({ onYield: () => undefined, onFailed: () => undefined })).toBeUndefined();
  });
});
