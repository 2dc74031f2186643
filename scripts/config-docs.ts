/**
 * Rewrites README.md's configuration table from the setting tables (src/config/settings-*.ts).
 * `npm run docs:config`; test/config/docs.test.ts fails when README and the tables differ.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { withConfigTable } from '../src/config/docs.js';

const path = new URL('../README.md', import.meta.url);
const before = readFileSync(path, 'utf8');
const after = withConfigTable(before);
if (after !== before) writeFileSync(path, after);
console.log(
  after === before ? 'README.md: configuration table up to date' : 'README.md: configuration table rewritten',
);
