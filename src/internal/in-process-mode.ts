/**
 * Which in-process setup built a processor: the app itself (setup 1, `new FenraSpanProcessor()`
 * in its own SDK) or the register entry (setup 2, zero code). Messages differ: a zero-code user
 * cannot call `stats()` nor pass options. The register entry builds its processor inside
 * {@link constructingForRegister}; a global symbol carries it across the ESM and CommonJS bundles.
 */
const KEY = Symbol.for('@fenra/otel.constructing-for-register');

type WithFlag = Record<symbol, boolean | undefined>;

export function constructingForRegister<T>(build: () => T): T {
  const g = globalThis as unknown as WithFlag;
  const outer = g[KEY];
  g[KEY] = true;
  try {
    return build();
  } finally {
    g[KEY] = outer;
  }
}

/** The setup building a processor right now. */
export function inProcessMode(): 'library' | 'register' {
  return (globalThis as unknown as WithFlag)[KEY] === true ? 'register' : 'library';
}
