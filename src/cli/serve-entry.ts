/**
 * Runs `fenra-otel serve` straight from the TypeScript sources (`node --import tsx
 * src/cli/serve-entry.ts [options]`), for tests and development without a build.
 */
import { runServe } from './serve.js';

process.exitCode = await runServe(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
