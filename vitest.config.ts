import { readFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
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
    // Two files at a time even on two cores (Vitest's default there is one): most of a file's
    // time is waiting on child processes and loopback servers, and the suite then takes about
    // 60 % of the time. No test depends on being alone (time is injected, not measured).
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // A processor without an API key writes to the local sink: never into the checkout.
    env: { FENRA_DATA_DIR: join(tmpdir(), `fenra-otel-vitest-${process.pid}`) },
  },
});
