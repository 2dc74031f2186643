// Records every module the process loads, ES modules (a resolve hook on the loader thread) and
// CommonJS ones (require.cache at exit), into the file named by LOADS_FILE, one URL or path a line.
import { register } from 'node:module';
import { appendFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const file = process.env.LOADS_FILE;
register(new URL('./record-loads-hook.mjs', import.meta.url), import.meta.url, { data: { file } });
process.on('exit', () => {
  const cache = createRequire(import.meta.url).cache;
  appendFileSync(file, Object.keys(cache).join('\n') + '\n');
});
