import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { version: string };

/** `npm run test:faults`: the fault and bad-input suite, apart from the main `npm test`. */
export default defineConfig({
  root,
  define: { __FENRA_OTEL_VERSION__: JSON.stringify(pkg.version) },
  test: {
    include: ['test/faults/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // One file at a time on any machine: scenarios measure capacity (overload, outages, storms).
    fileParallelism: false,
    globalSetup: ['test/faults/global-setup.ts'],
  },
});
