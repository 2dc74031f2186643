/**
 * Which in-process setup built a processor: the app itself (setup 1, `new FenraSpanProcessor()`
 * in its own SDK) or the register entry (setup 2, zero code). Messages differ: a zero-code user
 * cannot call `stats()` nor pass options; and a register entry that also exports every span over
 * OTLP (to a sidecar that bills them) does not keep a local copy without a key. The register
 * entry builds its processor inside {@link constructingForRegister}; a global symbol carries it
 * across the ESM and CommonJS bundles.
 */
const KEY = Symbol.for('@fenra/otel.constructing-for-register');

export interface RegisterContext {
  /** Where the register entry also exports every span over OTLP, if it does. */
  otlpExportTo?: string | undefined;
}

type WithContext = Record<symbol, RegisterContext | undefined>;

export function constructingForRegister<T>(build: () => T, context: RegisterContext = {}): T {
  const g = globalThis as unknown as WithContext;
  const outer = g[KEY];
  g[KEY] = context;
  try {
    return build();
  } finally {
    g[KEY] = outer;
  }
}

/** The setup building a processor right now. */
export function inProcessMode(): 'library' | 'register' {
  return (globalThis as unknown as WithContext)[KEY] !== undefined ? 'register' : 'library';
}

/** What the register entry said about itself while building its processor (undefined: setup 1). */
export function registerContext(): RegisterContext | undefined {
  return (globalThis as unknown as WithContext)[KEY];
}
