/**
 * One wording per condition, in every mode, naming only the settings that mode reads: a code
 * option only to a library user, a flag only to the sidecar (and `convert`'s own flags), a
 * variable to everyone, never `stats()` to someone who cannot call it.
 */
import { describe, expect, it } from 'vitest';
import { settingName } from '../../src/config/names.js';
import type { Mode } from '../../src/config/setting.js';
import { SETTINGS } from '../../src/config/settings.js';
import { CONDITIONS } from '../../src/internal/conditions.js';

const MODES: Mode[] = ['library', 'register', 'serve', 'convert'];

function names(mode: Mode) {
  return {
    apiKey: settingName(SETTINGS.apiKey, mode),
    endpoint: settingName(SETTINGS.endpoint, mode),
    maxQueueSize: settingName(SETTINGS.maxQueueSize, mode),
    billableCustomerId: settingName(SETTINGS.billableCustomerId, mode),
    customerIdKeys: settingName(SETTINGS.customerIdKeys, mode),
  };
}

/** Every condition's text as `mode` says it. */
function said(mode: Mode): Record<string, string> {
  const n = names(mode);
  return {
    noApiKey: CONDITIONS.noApiKey(n),
    localMode: CONDITIONS.localMode(n, '/data/transactions.jsonl'),
    keyRefused: CONDITIONS.keyRefused(n, 401, 'Invalid or missing API key', 'kept in memory (up to 10)', 60),
    endpointRefused: CONDITIONS.endpointRefused(n, 'https://u:p@x.example/v1?k=1', 404, 'no', 'kept', 60),
    queueFull: CONDITIONS.queueFull(n, 3, 10),
    unattributed: CONDITIONS.unattributed(mode, n, 2),
    furtherCounted: CONDITIONS.furtherCounted(mode),
  };
}

describe('one wording per condition, naming only the settings of the mode in use', () => {
  it.each(MODES)('%s', (mode) => {
    const text = Object.values(said(mode)).join('\n');
    // Everyone can set a variable.
    expect(text).toContain('FENRA_API_KEY');
    if (mode === 'library') {
      expect(text).toContain('(or the apiKey option)');
      expect(text).toContain('see stats()');
    } else {
      expect(text).not.toMatch(/\boption\b|stats\(\)/);
    }
    if (mode === 'serve') expect(text).toContain('--api-key-file or FENRA_API_KEY');
    else expect(text).not.toContain('--api-key-file');
    if (mode === 'library' || mode === 'register') {
      expect(text).not.toMatch(/--[a-z]/);
      expect(said(mode)['unattributed']).toContain('withFenraContext');
    } else {
      expect(said(mode)['unattributed']).not.toContain('withFenraContext');
      expect(said(mode)['unattributed']).toContain('--customer-id-key or FENRA_CUSTOMER_ID_KEYS');
    }
  });

  it('the same condition reads the same in every mode but for the names', () => {
    const strip = (mode: Mode, t: string): string =>
      Object.values(names(mode)).reduce((acc, n) => acc.split(n).join('<setting>'), t);
    for (const key of ['noApiKey', 'keyRefused', 'endpointRefused', 'queueFull', 'localMode']) {
      const texts = new Set(MODES.map((m) => strip(m, said(m)[key]!)));
      expect(texts.size, key).toBe(1);
    }
  });

  it('never shows URL credentials, a query or a fragment', () => {
    const t = said('serve')['endpointRefused']!;
    expect(t).toContain('https://x.example/v1');
    expect(t).not.toMatch(/u:p|k=1/);
  });
});
