import { readFileSync } from 'node:fs';

/** The README's setup-1 snippet (the `js` block after its `<!-- setup-1: ... -->` marker), as written. */
export function setupOneSnippet(
  readmeText = readFileSync(new URL('../../README.md', import.meta.url), 'utf8'),
): string {
  const marker = readmeText.indexOf('<!-- setup-1:');
  if (marker < 0) throw new Error('README.md has no <!-- setup-1: --> marker');
  const m = /```js\n([\s\S]*?)```/.exec(readmeText.slice(marker));
  if (!m) throw new Error('no js block after the setup-1 marker');
  return m[1]!;
}

/**
 * The app the snippet instruments: one OpenAI call for a customer, then, with SERVE=1, a server
 * that idles until it is stopped; else the script ends by itself.
 */
export const SNIPPET_APP = `import { createServer } from 'node:http';
import OpenAI from 'openai';
import { withFenraContext } from '@fenra/otel';

const openai = new OpenAI();
await withFenraContext({ billableCustomerId: 'cus_readme' }, () =>
  openai.chat.completions.create({ model: 'gpt-4.1-mini', messages: [{ role: 'user', content: 'hi' }] }),
);
if (process.env.SERVE === '1') createServer((_q, r) => r.end()).listen(0, '127.0.0.1', () => console.log('ready'));
else console.log('app done');
`;
