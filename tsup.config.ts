import { readFileSync } from 'node:fs';
import { defineConfig } from 'tsup';

const pkg = JSON.parse(readFileSync('./package.json', 'utf8')) as { version: string };

const common = {
  target: 'node20',
  platform: 'node',
  sourcemap: true,
  splitting: false,
  shims: true,
  define: { __FENRA_OTEL_VERSION__: JSON.stringify(pkg.version) },
} as const;

/** In an ES module bundle, `require` for the CommonJS code bundled into it. */
const ESM_REQUIRE_BANNER =
  "import { createRequire as __fenraCreateRequire } from 'node:module'; const require = __fenraCreateRequire(import.meta.url);";

/**
 * What the register entry bundles: the OpenTelemetry SDK pieces it starts. Loaded as packages
 * they are ~500 files (each resolved, read and compiled on its own, and on Node 20
 * each crossing to the ESM loader thread): about 90 ms of every start-up on the machine of
 * bench/RESULTS.md. Left outside, resolved from the package at run time:
 * - `@opentelemetry/api` (a peer dependency: the app's copy, one set of globals);
 * - import-in-the-middle and require-in-the-middle, whose module state the loader hook and
 *   the instrumentations share (the hook is registered from the same copy, see esm-hook.ts);
 * - what is loaded only when needed: the OTLP exporters, undici, the price catalog, and zod
 *   (bundled into a file of its own, `register-zod.cjs`, loaded at its first use: see
 *   src/internal/zod.ts).
 */
const REGISTER_BUNDLED = [/^@opentelemetry\/(?!api$|api\/|exporter-)/];

export default defineConfig([
  // The library entries: ESM first, CJS for `require` users.
  {
    ...common,
    entry: { index: 'src/index.ts', tools: 'src/tools.ts' },
    format: ['esm', 'cjs'],
    dts: { entry: { index: 'src/index.ts', tools: 'src/tools.ts', register: 'src/register.ts' } },
    // Everything but what the other builds (run alongside) write.
    clean: [
      '**/*',
      '!cli.js',
      '!cli.js.map',
      '!register.js',
      '!register.cjs',
      '!register.*.map',
      '!register-zod.*',
    ],
  },
  // The register entry (`--import` / `--require`): one file each, its SDK bundled in.
  // ES module build first in the package's mainFields: the bundler drops what is not used.
  {
    ...common,
    entry: { register: 'src/register.ts' },
    format: ['esm', 'cjs'],
    clean: false,
    noExternal: REGISTER_BUNDLED,
    define: { ...common.define, __FENRA_ZOD_MODULE__: JSON.stringify('./register-zod.cjs') },
    esbuildOptions(options) {
      options.mainFields = ['module', 'main'];
    },
    banner: (ctx) =>
      ctx.format === 'esm'
        ? {
            js: `/* Bundles OpenTelemetry JS packages (Apache-2.0, The OpenTelemetry Authors) and zod (MIT, Colin McDonnell). */\n${ESM_REQUIRE_BANNER}`,
          }
        : {
            js: '/* Bundles OpenTelemetry JS packages (Apache-2.0, The OpenTelemetry Authors) and zod (MIT, Colin McDonnell). */',
          },
  },
  // zod for the register entry (both formats load it with require, at its first use).
  {
    ...common,
    entry: { 'register-zod': 'src/internal/zod-api.ts' },
    format: ['cjs'],
    clean: false,
    noExternal: [/^zod(\/|$)/],
    esbuildOptions(options) {
      options.mainFields = ['module', 'main'];
    },
    banner: { js: '/* Bundles zod (MIT, Colin McDonnell). */' },
  },
  // The CLI: only ever imported by bin/fenra-otel.js, an ES module.
  // protobufjs (the sidecar's OTLP/protobuf decoder) is bundled in: its package runs a
  // postinstall script, which npm warns about to every user installing a dependent. So is
  // @grpc/grpc-js (the OTLP/gRPC receiver, loaded only when it starts), which would bring
  // protobufjs back through @grpc/proto-loader, with what they need.
  {
    ...common,
    entry: { cli: 'src/cli/main.ts' },
    format: ['esm'],
    clean: false,
    noExternal: [/^protobufjs(\/|$)/, /^@grpc\//, /^@js-sdsl\//, /^lodash\.camelcase$/, /^long$/],
    banner: {
      js: `/* Bundles protobufjs (BSD-3-Clause), @grpc/grpc-js, @grpc/proto-loader and long (Apache-2.0), lodash.camelcase and @js-sdsl/ordered-map (MIT). */\n${ESM_REQUIRE_BANNER}`,
    },
  },
]);
