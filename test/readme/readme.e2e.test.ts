/**
 * The README's setup-1 snippet, as written, in a real process (against the built package):
 * NodeSDK + FenraSpanProcessor + the OpenAI instrumentation through the ESM loader hook; an
 * OpenAI call (a fake OpenAI on loopback) billed to the customer and delivered to a fake Fenra,
 * whether the script ends by itself or the server is stopped by SIGTERM.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useFakeServers } from '../register/fake-servers.js';
import { ensureBuilt, ROOT, runNode, startNode } from '../register/run-node.js';
import { SNIPPET_APP, setupOneSnippet } from './snippet.js';

beforeAll(ensureBuilt, 120_000);

// Inside the checkout, so that `@fenra/otel` (the package itself) and its dependencies resolve.
const dir = mkdtempSync(join(ROOT, '.tmp-readme-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'instrumentation.mjs'), setupOneSnippet());
writeFileSync(join(dir, 'app.mjs'), SNIPPET_APP);
const args = [
  '--import',
  `./${relative(ROOT, join(dir, 'instrumentation.mjs'))}`,
  relative(ROOT, join(dir, 'app.mjs')),
];

const fake = useFakeServers();

describe("the README's setup-1 snippet, as written", () => {
  it('a script that ends by itself: the call is billed to its customer and delivered', async () => {
    const r = await runNode(args, fake.env());
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('app done');
    expect(fake.llm.calls).toHaveLength(1);
    expect(fake.ingest.accepted.map((a) => a.transaction.context.billable_customer_id)).toEqual([
      'cus_readme',
    ]);
    expect(r.stderr).toBe('');
  });

  it('a server stopped by SIGTERM: delivered, then it exits', async () => {
    const run = startNode(args, fake.env({ SERVE: '1' }));
    await run.waitForStdout('ready');
    run.child.kill('SIGTERM');
    expect(await run.exited).toEqual({ code: 0, signal: null });
    expect(fake.ingest.accepted).toHaveLength(1);
    expect(run.stderr()).toBe('');
  });
});
