import { readFileSync } from 'node:fs';
import { defineConfig } from 'tsup';

const pkg = JSON.parse(readFileSync('./package.json', 'utf8')) as { version: string };

// One build, two module systems: ESM first, CJS for `--require` users.
export default defineConfig({
  entry: {
    index: 'src/index.ts',
    tools: 'src/tools.ts',
    cli: 'src/cli/main.ts',
    register: 'src/register/index.ts',
  },
  format: ['esm', 'cjs'],
  dts: { entry: { index: 'src/index.ts', tools: 'src/tools.ts', register: 'src/register/index.ts' } },
  target: 'node20',
  platform: 'node',
  sourcemap: true,
  clean: true,
  splitting: false,
  shims: true,
  define: { __FENRA_OTEL_VERSION__: JSON.stringify(pkg.version) },
});
