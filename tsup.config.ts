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

export default defineConfig([
  // The library entries: ESM first, CJS for `require` and `--require` users.
  {
    ...common,
    entry: { index: 'src/index.ts', tools: 'src/tools.ts', register: 'src/register.ts' },
    format: ['esm', 'cjs'],
    dts: { entry: { index: 'src/index.ts', tools: 'src/tools.ts', register: 'src/register.ts' } },
    // Everything but the CLI's bundle, which the second build (run alongside) writes.
    clean: ['**/*', '!cli.js', '!cli.js.map'],
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
      js: "import { createRequire as __fenraCreateRequire } from 'node:module'; const require = __fenraCreateRequire(import.meta.url);",
    },
  },
]);
