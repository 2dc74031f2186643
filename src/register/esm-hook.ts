import * as nodeModule from 'node:module';

/** The loader hook of OpenTelemetry's Node instrumentations (import-in-the-middle). */
export const ESM_HOOK_SPECIFIER = '@opentelemetry/instrumentation/hook.mjs';

type RegisterFn = (specifier: string, parentURL: string, options?: { data?: unknown }) => void;

/**
 * Registers the instrumentation loader hook so ES modules imported from now on can be
 * patched, wrapping only the `include`d modules. Returns false when there is nothing to hook
 * or this Node has no `module.register` (< 20.6).
 */
export function registerEsmHook(include: readonly string[], parentURL: string): boolean {
  const register = (nodeModule as { register?: RegisterFn }).register;
  if (typeof register !== 'function' || include.length === 0) return false;
  register(ESM_HOOK_SPECIFIER, parentURL, { data: { include: [...include] } });
  return true;
}
