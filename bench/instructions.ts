/**
 * Instructions per conversion pass, counted by callgrind: the steadiest measure of a change to
 * the converter on a noisy machine (repeats agree within 1–2 %). Needs valgrind (Debian:
 * `apt-get install valgrind`).
 *
 *   npx tsx bench/instructions.ts [DIST_DIR]   # default: the package built in dist/
 *
 * Runs `node --single-threaded` under `valgrind --tool=callgrind` on a script that converts
 * every recorded fixture N times with the built package, for N = 100 and N = 400, and prints
 * (count(400) − count(100)) / 300: start-up and JIT warm-up cancel out.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from './util.js';

const dist = resolve(process.argv[2] ?? join(ROOT, 'dist'));
const fixtures = join(ROOT, 'test', 'fixtures', 'recorded');
const script = `
import { existsSync, readdirSync, readFileSync } from 'node:fs';
// The converter is in the tools entry (older builds exported it from the index).
const tools = ${JSON.stringify(join(dist, 'tools.js'))};
const api = await import(existsSync(tools) ? ${JSON.stringify(pathToFileURL(join(dist, 'tools.js')).href)} : ${JSON.stringify(pathToFileURL(join(dist, 'index.js')).href)});
const dir = ${JSON.stringify(fixtures + '/')};
const spans = [];
for (const f of readdirSync(dir).filter((f) => f.endsWith('.otlp.json')).sort()) {
  for (const r of api.parseOtlpJsonText(readFileSync(dir + f, 'utf8')).requests) spans.push(...api.spansFromOtlpJson(r).spans);
}
const pricer = new api.PriceBook();
let n = 0;
for (let i = 0; i < Number(process.argv[2]); i++) n += api.toTransactions(spans, { pricer }).transactions.length;
if (n === 0) throw new Error('nothing converted');
`;
const file = join(mkdtempSync(join(tmpdir(), 'fenra-instr-')), 'pass.mjs');
writeFileSync(file, script);

try {
  execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
} catch {
  console.error('valgrind is not installed (Debian: apt-get install valgrind)');
  process.exit(1);
}

function instructions(n: number): number {
  const r = spawnSync(
    'valgrind',
    [
      '--tool=callgrind',
      '--callgrind-out-file=/dev/null',
      process.execPath,
      '--single-threaded',
      file,
      String(n),
    ],
    { encoding: 'utf8' },
  );
  const m = /Collected : (\d+)/.exec(r.stderr);
  if (r.status !== 0 || !m) throw new Error(`callgrind failed: ${r.stderr.slice(-500)}`);
  return Number(m[1]);
}

const [a, b] = [instructions(100), instructions(400)];
console.log(`${dist}: ${Math.round((b - a) / 300).toLocaleString('en-US')} instructions per conversion pass`);
