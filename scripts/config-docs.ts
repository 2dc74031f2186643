/**
 * Rewrites docs/configuration.md's table from the setting tables (src/config/settings-*.ts).
 * `npm run docs:config`; test/config/docs.test.ts fails when the page and the tables differ.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { withConfigTable } from '../src/config/docs.js';

const path = new URL('../docs/configuration.md', import.meta.url);
const before = readFileSync(path, 'utf8');
const after = withConfigTable(before);
if (after !== before) writeFileSync(path, after);
console.log(
  after === before
    ? 'docs/configuration.md: configuration table up to date'
    : 'docs/configuration.md: configuration table rewritten',
);
