import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SERVE_HELP } from '../../src/cli/serve.js';
import { defaultDoc, renderConfigTable, withConfigTable } from '../../src/config/docs.js';
import { optionsSchemas } from '../../src/config/options.js';
import { serveFlagOptions } from '../../src/config/serve.js';
import type { Setting } from '../../src/config/setting.js';
import { MIB } from '../../src/config/setting.js';
import { SETTINGS, settingsOf } from '../../src/config/settings.js';

/** The page that holds the configuration table (the README links to it). */
const README = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
const ALL = Object.entries(SETTINGS) as [string, Setting][];

/** README's configuration table, row by row: setting → its cells. */
function readmeRows(): Map<string, string[]> {
  const rows = new Map<string, string[]>();
  const start = README.indexOf('<!-- settings-table:start');
  const end = README.indexOf('<!-- settings-table:end -->');
  for (const line of README.slice(start, end).split('\n')) {
    if (!line.startsWith('| ') || line.startsWith('| setting |')) continue;
    const cells = line
      .slice(2, -2)
      .split(' | ')
      .map((c) => c.trim());
    rows.set(cells[0]!, cells);
  }
  return rows;
}

describe('the README configuration table', () => {
  it('is the one rendered from the setting tables (npm run docs:config rewrites it)', () => {
    expect(withConfigTable(README)).toBe(README);
  });

  it.each(ALL)('lists %s with its variable, flag, option and default', (_id, s) => {
    const row = readmeRows().get(s.doc);
    expect(row, `README row for "${s.doc}"`).toBeDefined();
    const [, env, flag, option, def] = row!;
    for (const v of s.env ?? []) expect(env).toContain(`\`${v}\``);
    if (s.env === undefined) expect(env).toBe('—');
    if (s.flag !== undefined && s.modes.includes('serve')) expect(flag).toContain(`\`--${s.flag}`);
    else expect(flag).toBe('—');
    expect(option).toBe(s.option === undefined ? '—' : `\`${s.option}\``);
    expect(def).toBe(defaultDoc(s));
    if (s.defaultDoc === undefined && typeof s.default === 'number')
      expect(def).toContain(String(s.kind === 'mib' ? s.default / MIB : s.default));
  });

  it('has no row that is not a setting', () => {
    const docs = new Set(ALL.map(([, s]) => s.doc));
    for (const name of readmeRows().keys()) expect(docs.has(name), name).toBe(true);
    expect(renderConfigTable().trim().split('\n')).toHaveLength(ALL.length + 2);
  });
});

describe('fenra-otel serve --help', () => {
  it.each(settingsOf('serve'))('describes %s with its variable and default', (_id, s) => {
    if (s.flag !== undefined) expect(SERVE_HELP).toContain(`  --${s.flag}${s.arg ? ` ${s.arg}` : ''} `);
    const env = s.env?.[0];
    if (env !== undefined) expect(SERVE_HELP).toContain(`$${env}`);
    const def = s.modeDefaults?.serve ?? s.default;
    if (typeof def === 'number' && s.helpDefault === undefined) {
      const shown = String(s.kind === 'mib' ? def / MIB : def);
      const block = SERVE_HELP.slice(SERVE_HELP.indexOf(`\n  ${s.flag ? `--${s.flag}` : `$${env}`}`) + 1);
      expect(block.slice(0, block.search(/\n {2}[-$]/) >>> 0).replace(/\s+/g, ' ')).toContain(
        `default ${shown}`,
      );
    }
  });

  it('lists only flags the parser knows, and the parser knows every listed flag', () => {
    const listed = [...SERVE_HELP.matchAll(/^ {2}(?:-h, )?(--[a-z-]+)/gm)].map((m) => m[1]!.slice(2));
    const known = new Set([...Object.keys(serveFlagOptions()), 'config', 'help']);
    expect(new Set(listed)).toEqual(known);
  });
});

describe('the code options', () => {
  it('are exactly the settings with a code option (the exporter adds its own)', () => {
    const processor = ALL.filter(([, s]) => s.option !== undefined && s.exporterOnly !== true).map(
      ([, s]) => s.option,
    );
    const exporter = ALL.filter(([, s]) => s.option !== undefined).map(([, s]) => s.option);
    expect(Object.keys(optionsSchemas().processor.shape).sort()).toEqual(processor.sort());
    expect(Object.keys(optionsSchemas().exporter.shape).sort()).toEqual(exporter.sort());
  });

  it('are documented (TSDoc) with their variable and default as the tables say', () => {
    const source = readFileSync(new URL('../../src/config/options.ts', import.meta.url), 'utf8');
    for (const [, s] of ALL) {
      if (s.option === undefined) continue;
      const at = source.search(new RegExp(`^ {4}${s.option}: `, 'm'));
      expect(at, s.option).toBeGreaterThan(0);
      const doc = source.slice(source.lastIndexOf('/**', at), at);
      if (s.env !== undefined) expect(doc, s.option).toContain(`\`${s.env[0]}\``);
      else expect(doc, s.option).toContain('No env var');
      if (typeof s.default === 'number') expect(doc, s.option).toContain(`Default ${s.default}`);
      if (typeof s.default === 'string') expect(doc, s.option).toContain(`Default \`${s.default}\``);
    }
  });
});
