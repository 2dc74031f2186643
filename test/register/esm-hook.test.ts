import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { needsEsmHook } from '../../src/register/esm-hook.js';

const root = mkdtempSync(join(tmpdir(), 'fenra-esm-hook-'));
const esmPkg = join(root, 'esm-app');
const cjsPkg = join(root, 'cjs-app');
mkdirSync(join(esmPkg, 'src'), { recursive: true });
mkdirSync(join(cjsPkg, 'src'), { recursive: true });
writeFileSync(join(esmPkg, 'package.json'), JSON.stringify({ type: 'module' }));
writeFileSync(join(cjsPkg, 'package.json'), JSON.stringify({ name: 'x' }));
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

  it('.js, .ts and extensionless files follow the nearest package.json type', () => {
    expect(needsEsmHook(join(esmPkg, 'src/app.js'), {})).toBe(true);
    expect(needsEsmHook(join(esmPkg, 'src/app.ts'), {})).toBe(true);
    expect(needsEsmHook(join(esmPkg, 'src/server'), {})).toBe(true);
    expect(needsEsmHook(join(cjsPkg, 'src/app.js'), {})).toBe(false);
    expect(needsEsmHook(join(cjsPkg, 'src/server'), {})).toBe(false);
  });

  it('no main script (-e, REPL) or an unknown extension: hook', () => {
    expect(needsEsmHook(undefined, {})).toBe(true);
    expect(needsEsmHook(join(cjsPkg, 'app.coffee'), {})).toBe(true);
  });

  it('FENRA_ESM_HOOK decides when set', () => {
    expect(needsEsmHook(join(cjsPkg, 'app.cjs'), { FENRA_ESM_HOOK: 'true' })).toBe(true);
    expect(needsEsmHook(join(esmPkg, 'app.mjs'), { FENRA_ESM_HOOK: 'false' })).toBe(false);
    expect(needsEsmHook(join(esmPkg, 'app.mjs'), { FENRA_ESM_HOOK: '' })).toBe(true);
  });
});
