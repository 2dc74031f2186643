import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { needsEsmHook } from '../../src/register/esm-hook.js';

const root = mkdtempSync(join(tmpdir(), 'fenra-esm-hook-'));
const esmPkg = join(root, 'esm-app');
const cjsPkg = join(root, 'cjs-app');
const typedCjsPkg = join(root, 'typed-cjs-app');
mkdirSync(join(esmPkg, 'src'), { recursive: true });
mkdirSync(join(cjsPkg, 'src'), { recursive: true });
writeFileSync(join(esmPkg, 'package.json'), JSON.stringify({ type: 'module' }));
writeFileSync(join(cjsPkg, 'package.json'), JSON.stringify({ name: 'x' }));
mkdirSync(typedCjsPkg, { recursive: true });
writeFileSync(join(typedCjsPkg, 'package.json'), JSON.stringify({ type: 'commonjs' }));
const files: Record<string, string> = {
  'src/esm-import.js': "import OpenAI from 'openai';\nconsole.log(OpenAI);\n",
  'src/esm-export.js': 'export const x = 1;\n',
  'src/esm-meta.js': 'console.log(import.meta.url);\n',
  'src/esm-tla.js': "const r = await fetch('http://127.0.0.1:9');\n",
  'src/cjs.js':
    "#!/usr/bin/env node\nconst OpenAI = require('openai');\nmodule.exports = async () => import('node:path');\n",
  'src/broken.js': 'const = ;\n',
  'src/server': "\uFEFFrequire('node:http');\n",
};
for (const [f, text] of Object.entries(files)) writeFileSync(join(cjsPkg, f), text);
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('needsEsmHook', () => {
  it.each([
    ['app.mjs', true],
    ['app.mts', true],
    ['app.cjs', false],
    ['app.cts', false],
  ])('%s → %s by its extension', (file, want) => {
    expect(needsEsmHook(join(cjsPkg, file), {})).toBe(want);
  });

  it('.js, .ts and extensionless files follow the nearest package.json type when it is set', () => {
    expect(needsEsmHook(join(esmPkg, 'src/app.js'), {})).toBe(true);
    expect(needsEsmHook(join(esmPkg, 'src/app.ts'), {})).toBe(true);
    expect(needsEsmHook(join(esmPkg, 'src/server'), {})).toBe(true);
    expect(needsEsmHook(join(typedCjsPkg, 'app.js'), {})).toBe(false);
    expect(needsEsmHook(join(typedCjsPkg, 'server'), {})).toBe(false);
  });

  it('with no "type", a .js or extensionless file is hooked when it has ES module syntax (Node runs it as ESM)', () => {
    for (const f of ['src/esm-import.js', 'src/esm-export.js', 'src/esm-meta.js', 'src/esm-tla.js'])
      expect(needsEsmHook(join(cjsPkg, f), {}), f).toBe(true);
    // CommonJS (a hashbang, a BOM and a dynamic import() are fine in it): no hook.
    expect(needsEsmHook(join(cjsPkg, 'src/cjs.js'), {})).toBe(false);
    expect(needsEsmHook(join(cjsPkg, 'src/server'), {})).toBe(false);
    // Not valid either way: Node will say so; no hook needed for that.
    expect(needsEsmHook(join(cjsPkg, 'src/broken.js'), {})).toBe(false);
    // Unreadable (missing): the safe side.
    expect(needsEsmHook(join(cjsPkg, 'src/missing.js'), {})).toBe(true);
    // TypeScript with no "type" (a loader decides): hook.
    expect(needsEsmHook(join(cjsPkg, 'src/app.ts'), {})).toBe(true);
  });

  it('no main script (-e, REPL) or an unknown extension: hook', () => {
    expect(needsEsmHook(undefined, {})).toBe(true);
    expect(needsEsmHook(join(cjsPkg, 'app.coffee'), {})).toBe(true);
  });

  it('FENRA_ESM_HOOK decides when set', () => {
    expect(needsEsmHook(join(cjsPkg, 'app.cjs'), { esmHook: true })).toBe(true);
    expect(needsEsmHook(join(esmPkg, 'app.mjs'), { esmHook: false })).toBe(false);
    expect(needsEsmHook(join(esmPkg, 'app.mjs'), { esmHook: undefined })).toBe(true);
  });
});
