import { readFileSync } from 'node:fs';
import * as nodeModule from 'node:module';
import { dirname, extname, join, resolve } from 'node:path';

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

function packageType(startDir: string): string | undefined {
  let dir = startDir;
  for (let i = 0; i < 64; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { type?: unknown };
      return typeof pkg.type === 'string' ? pkg.type : undefined;
    } catch {
      // no (readable) package.json here: go up
    }
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
  return undefined;
}

/**
 * Whether the ESM loader hook is needed. The hook costs a loader thread that every import goes
 * through (~0.15 s of startup on Node 20), and CommonJS apps load the instrumented SDKs with
 * `require`, which is patched without it. So: `FENRA_ESM_HOOK=true|false` decides if set;
 * otherwise yes unless the main script is CommonJS (`.cjs`, or `.js` / no extension outside a
 * `"type": "module"` package). No main script (`-e`, REPL): yes.
 */
export function needsEsmHook(mainScript: string | undefined, env: NodeJS.ProcessEnv = process.env): boolean {
  const forced = env['FENRA_ESM_HOOK']?.trim().toLowerCase();
  if (forced === 'true' || forced === '1') return true;
  if (forced === 'false' || forced === '0') return false;
  if (mainScript === undefined || mainScript === '') return true;
  const ext = extname(mainScript);
  if (ext === '.mjs' || ext === '.mts') return true;
  if (ext === '.cjs' || ext === '.cts') return false;
  if (ext !== '.js' && ext !== '.ts' && ext !== '') return true;
  return packageType(dirname(resolve(mainScript))) === 'module';
}
