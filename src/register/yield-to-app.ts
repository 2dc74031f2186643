/**
 * Lets an application's own OpenTelemetry set-up win over the register entry's.
 *
 * The register entry runs first (a preload) and registers the global tracer provider, context
 * manager and propagator. An app that then starts its own SDK (`new NodeSDK(...).start()` in its
 * main module) would be refused by `@opentelemetry/api` ("Attempted duplicate registration of
 * API: trace"), its exporters would get nothing, and the register entry's provider would stay.
 *
 * Every copy of `@opentelemetry/api` 1.x (ESM or CommonJS build, bundled or not) keeps its
 * globals on one object, `globalThis[Symbol.for('opentelemetry.js.api.1')]`, and registers a
 * global the same way: it reads that object, assigns it back, reads `api[type]` (refusing when
 * set), reads `api.version`, then assigns `api[type]`. Lookups read the object, then
 * `api.version`, then `api[type]`. So an assignment to the global slot followed at once by a read
 * of `api.trace` (with no `version` read between them) is a registration of `trace`, from any
 * copy. For each of `trace`, `context` and `propagation` the first such registration after ours
 * is let through once (the read answers "nothing registered"), and `onYield` is told.
 */
const OTEL_API_GLOBALS = Symbol.for('opentelemetry.js.api.1');

export const YIELDING_TYPES = ['trace', 'context', 'propagation'] as const;
export type YieldingType = (typeof YIELDING_TYPES)[number];

export interface YieldCallbacks {
  /** The app registered its own global of this type; ours is no longer the global one. */
  onYield(type: YieldingType): void;
  /**
   * The app's registration of this type was let through but did not complete (its
   * `@opentelemetry/api` is another exact version than the one registered first).
   */
  onFailed(type: YieldingType): void;
}

export interface YieldWatch {
  /** The types the app has taken over so far. */
  readonly yielded: ReadonlySet<YieldingType>;
  /** Stops watching; the globals become plain properties again, with their current values. */
  dispose(): void;
}

type Globals = Record<string, unknown>;

function dataValue(o: object, key: PropertyKey): { value: unknown } | undefined {
  const d = Object.getOwnPropertyDescriptor(o, key);
  return d !== undefined && 'value' in d && d.configurable === true ? { value: d.value } : undefined;
}

/**
 * Starts watching the globals registered so far. Returns undefined (and watches nothing) when
 * there is no global object to watch, or it is not a plain configurable one.
 */
export function yieldToLateRegistrations(cb: YieldCallbacks): YieldWatch | undefined {
  const g = globalThis as unknown as Record<symbol, unknown>;
  const slot = dataValue(g, OTEL_API_GLOBALS);
  if (slot === undefined || slot.value === null || typeof slot.value !== 'object') return undefined;
  const api = slot.value as Globals;
  const version = dataValue(api, 'version');
  if (version === undefined) return undefined;

  /** Set by an assignment to the global slot: the next property read is a registration check. */
  let armed = false;
  /** A registration of this type was let through; its assignment is expected next. */
  let allowing: YieldingType | undefined;
  const yielded = new Set<YieldingType>();
  /** The current value of each watched property (plain cells: lookups are on the hot path). */
  const cells = new Map<string, { value: unknown }>();
  let disposed = false;

  const settle = (): void => {
    // Runs after the registration call returned: if the assignment never came, it failed.
    if (allowing === undefined) return;
    const type = allowing;
    allowing = undefined;
    safely(() => cb.onFailed(type));
  };

  for (const type of YIELDING_TYPES) {
    const current = dataValue(api, type);
    if (current === undefined || current.value === undefined) continue;
    const cell: { value: unknown } = { value: current.value };
    cells.set(type, cell);
    Object.defineProperty(api, type, {
      configurable: true,
      enumerable: true,
      get(): unknown {
        if (armed) {
          armed = false;
          if (!yielded.has(type)) {
            allowing = type;
            queueMicrotask(settle);
            return undefined;
          }
        }
        return cell.value;
      },
      set(v: unknown) {
        cell.value = v;
        if (allowing === type) {
          allowing = undefined;
          yielded.add(type);
          safely(() => cb.onYield(type));
        }
      },
    });
  }
  const versionCell = { value: version.value };
  cells.set('version', versionCell);
  Object.defineProperty(api, 'version', {
    configurable: true,
    enumerable: true,
    get(): unknown {
      armed = false;
      return versionCell.value;
    },
    set(v: unknown) {
      versionCell.value = v;
    },
  });
  Object.defineProperty(g, OTEL_API_GLOBALS, {
    configurable: true,
    enumerable: false,
    get: () => api,
    set(v: unknown) {
      if (v === api) armed = true;
      else {
        // The whole object replaced (not something @opentelemetry/api does): stop watching.
        dispose();
        g[OTEL_API_GLOBALS] = v;
      }
    },
  });

  function dispose(): void {
    if (disposed) return;
    disposed = true;
    Object.defineProperty(g, OTEL_API_GLOBALS, {
      configurable: true,
      enumerable: false,
      writable: true,
      value: api,
    });
    for (const [key, cell] of cells) {
      const d = Object.getOwnPropertyDescriptor(api, key);
      // Deleted meanwhile (`trace.disable()`), or already plain: leave it as it is.
      if (d === undefined || 'value' in d) continue;
      Object.defineProperty(api, key, {
        configurable: true,
        enumerable: true,
        writable: true,
        value: cell.value,
      });
    }
  }

  return { yielded, dispose };
}

function safely(f: () => void): void {
  try {
    f();
  } catch {
    // A callback must never break the app's registration.
  }
}
