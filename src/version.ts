declare const __FENRA_OTEL_VERSION__: string | undefined;

/** This package's version, injected at build time (tsup and vitest `define`). */
export const VERSION: string =
  typeof __FENRA_OTEL_VERSION__ === 'string' ? __FENRA_OTEL_VERSION__ : '0.0.0-dev';
