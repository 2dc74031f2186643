#!/usr/bin/env node
// Thin launcher: the CLI lives in the built bundle (`npm run build` in a checkout; shipped built).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(fileURLToPath(cli))) {
  process.stderr.write('fenra-otel: the package is not built; run `npm run build` first\n');
  process.exit(1);
}
const { main } = await import(cli.href);
process.exitCode = await main(process.argv.slice(2));
