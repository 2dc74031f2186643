import { readFileSync, statSync } from 'node:fs';
import * as nodeModule from 'node:module';
import { dirname, extname, join, resolve } from 'node:path';
import { compileFunction } from 'node:vm';

/**
 * The loader hook of OpenTelemetry's Node instrumentations (import-in-the-middle), resolved
 * from this package: the very copy the instrumentations it starts use (bundled into the
 * register entry, they import it from here too), so that their `Hook`s reach this loader.
 */
export const ESM_HOOK_SPECIFIER = 'import-in-the-middle/hook.mjs';

type RegisterFn = (specifier: string, parentURL: string, options?: { data?: unknown }) => void;

/** How the hook was registered: in the application's thread, or on a loader thread. */
export type EsmHookKind = 'in-thread' | 'loader-thread' | false;

/**
 * Registers the instrumentation loader hook so ES modules imported from now on can be
 * patched, wrapping only the `include`d modules. Where Node runs synchronous hooks in the
 * application's thread (`module.registerHooks`, as import-in-the-middle supports them: Node
 * 22.22.3+, 24.11.1+), those: a loader thread that every import goes through costs ~0.15 s of
 * start-up for an app that imports `openai`, the in-thread hooks a fraction of it. Otherwise
 * `module.register` (Node 20.6+). Returns false when there is nothing to hook or this Node has
 * neither.
 */
export function registerEsmHook(include: readonly string[], parentURL: string): EsmHookKind {
  if (include.length === 0) return false;
  const inThread = syncHooks(parentURL);
  if (inThread !== undefined) {
    inThread({ include: [...include] });
    keepBuiltinsBuiltin();
    return 'in-thread';
  }
  const register = (nodeModule as { register?: RegisterFn }).register;
  if (typeof register !== 'function') return false;
  register(ESM_HOOK_SPECIFIER, parentURL, { data: { include: [...include] } });
  return 'loader-thread';
}

type SyncRegister = (options: { include: string[] }) => void;

interface ResolveResult {
  url: string;
  format?: string | null | undefined;
}
type SyncResolve = (
  specifier: string,
  context: object,
  next: (specifier: string, context?: object) => ResolveResult,
) => ResolveResult;

/**
 * import-in-the-middle (3.6) answers a resolution without a parent module (code given with
 * `-e`, piped on stdin, typed in the REPL) that has no file extension with the format
 * `commonjs` when none was set: a builtin such as `node:module` then goes to the CommonJS file
 * loader, which fails to open a file named `module` and the application dies at start
 * (`node --require @fenra/otel/register -e ...` on Node 22). This hook, registered after it,
 * is called first and sees its answer: it puts a builtin's format back.
 */
function keepBuiltinsBuiltin(): void {
  const registerHooks = (nodeModule as { registerHooks?: (hooks: { resolve: SyncResolve }) => unknown })
    .registerHooks;
  registerHooks?.({
    resolve(specifier, context, next) {
      const result = next(specifier, context);
      return result.format === 'commonjs' && result.url.startsWith('node:')
        ? { ...result, format: 'builtin' }
        : result;
    },
  });
}

/**
 * import-in-the-middle's in-thread registration, from the very copy the OpenTelemetry
 * instrumentations use (resolved from `parentURL`, as {@link ESM_HOOK_SPECIFIER}), when this
 * Node supports it. Loaded with `require` (Node runs synchronous ES modules through it where
 * these hooks exist).
 */
function syncHooks(parentURL: string): SyncRegister | undefined {
  if (typeof (nodeModule as { registerHooks?: unknown }).registerHooks !== 'function') return undefined;
  try {
    const req = nodeModule.createRequire(parentURL);
    const supports = req('import-in-the-middle/supports-sync-hooks.mjs') as {
      supportsSyncHooks?: () => boolean;
    };
    if (supports.supportsSyncHooks?.() !== true) return undefined;
    const mod = req('import-in-the-middle/register-hooks.mjs') as { register?: SyncRegister };
    return typeof mod.register === 'function' ? mod.register : undefined;
  } catch {
    // An import-in-the-middle without them, or one that cannot be loaded so: the loader thread.
    return undefined;
  }
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

/** V8's messages for syntax that only an ES module may hold (those Node's detection goes by). */
const ESM_ONLY_SYNTAX = [
  'Cannot use import statement outside a module',
  "Unexpected token 'export'",
  "Cannot use 'import.meta' outside a module",
  'await is only valid in async functions and the top level bodies of modules',
];

/** Larger main scripts are not parsed: the hook is registered (the safe side). */
const MAX_DETECT_BYTES = 8 * 1024 * 1024;

/**
 * Whether a `.js` (or extensionless) file in a package with no `"type"` has ES module syntax,
 * so that Node (20.19+, 22.7+; earlier with `--experimental-detect-module`) runs it as ESM. The
 * file is compiled (not run) as a CommonJS module body, as Node does first; an unreadable or
 * too large file counts as ESM.
 */
export function hasModuleSyntax(file: string): boolean {
  let source: string;
  try {
    if (statSync(file).size > MAX_DETECT_BYTES) return true;
    source = readFileSync(file, 'utf8');
  } catch {
    return true;
  }
  // A byte-order mark and a hashbang line are not part of the body Node compiles.
  source = source.replace(/^\uFEFF/, '').replace(/^#!.*/, '');
  try {
    compileFunction(source, ['exports', 'require', 'module', '__filename', '__dirname'], { filename: file });
    return false;
  } catch (e) {
    const message = e instanceof Error ? e.message : '';
    return ESM_ONLY_SYNTAX.some((m) => message.includes(m));
  }
}

/**
 * Whether the ESM loader hook is needed. The hook costs a loader thread that every import goes
 * through (~0.15 s of startup on Node 20), and CommonJS apps load the instrumented SDKs with
 * `require`, which is patched without it. So: `FENRA_ESM_HOOK=true|false` (resolved by the
 * register entry's configuration: `esmHook`) decides if set;
 * otherwise no only when the main script is CommonJS for sure: `.cjs`/`.cts`, or a `.js` /
 * extensionless file in a package whose `"type"` is `"commonjs"`, or, with no `"type"`, one
 * without ES module syntax (Node runs such a file as ESM otherwise). No main script (`-e`,
 * REPL) or any other kind of file: yes.
 */
export function needsEsmHook(
  mainScript: string | undefined,
  settings: { esmHook?: boolean | undefined } = {},
): boolean {
  if (settings.esmHook !== undefined) return settings.esmHook;
  if (mainScript === undefined || mainScript === '') return true;
  const ext = extname(mainScript);
  if (ext === '.mjs' || ext === '.mts') return true;
  if (ext === '.cjs' || ext === '.cts') return false;
  if (ext !== '.js' && ext !== '.ts' && ext !== '') return true;
  const file = resolve(mainScript);
  const type = packageType(dirname(file));
  if (type === 'module') return true;
  if (type === 'commonjs') return false;
  // No "type": TypeScript (run by a loader such as tsx) may go either way; hook.
  if (ext === '.ts') return true;
  return hasModuleSyntax(file);
}
