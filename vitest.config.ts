import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

const pkg = JSON.parse(readFileSync('./package.json', 'utf8')) as { version: string };

export default defineConfig({
  define: { __FENRA_OTEL_VERSION__: JSON.stringify(pkg.version) },
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/fixtures/generate/**', 'node_modules/**', 'test/faults/**'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
    // A processor without an API key writes to the local sink: never into the checkout.
    env: { FENRA_DATA_DIR: join(tmpdir(), `fenra-otel-vitest-${process.pid}`) },
  },
});
