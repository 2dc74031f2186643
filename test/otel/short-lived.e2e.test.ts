/**
 * An awaited forceFlush()/shutdown() in a short-lived process must not be abandoned while a
 * retry waits: the child below has no other handle keeping it alive, so an unref'd retry timer
 * would let it exit mid-flush (nothing delivered; exit code 13 for an unsettled top-level
 * await). The real ingest server runs here, in the test process.
 */
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { IngestServer } from '../helpers/ingest-server.js';
import { startIngestServer } from '../helpers/ingest-server.js';
import { ensureBuilt, runNode } from '../register/run-node.js';

beforeAll(ensureBuilt, 120_000);

let ingest: IngestServer;
beforeEach(async () => {
  ingest = await startIngestServer({ apiKey: 'test-key' });
});
afterEach(() => ingest.close());

async function run(mode: 'flush' | 'shutdown') {
  const r = await runNode(['test/otel/apps/short-lived.mjs'], {
    MODE: mode,
    FENRA_API_KEY: 'test-key',
    FENRA_ENDPOINT: ingest.url,
  });
  const stats = r.stdout.trim() === '' ? undefined : (JSON.parse(r.stdout) as Record<string, unknown>);
  return { ...r, stats };
}

describe('a short-lived process awaiting the flush', () => {
  it('await provider.shutdown() after a 500 waits for the retry and delivers', async () => {
    ingest.script([{ kind: 'status', status: 500 }]);
    const r = await run('shutdown');
    expect(r.code, r.stderr).toBe(0);
    expect(ingest.requests.map((q) => q.status)).toEqual([500, 202]);
    expect(ingest.accepted).toHaveLength(1);
    expect(r.stats).toMatchObject({ accepted: 1, retries: 1, state: 'shut_down' });
  });

  it('await processor.forceFlush() through a 503 with Retry-After waits for it and delivers', async () => {
    ingest.script([{ kind: 'status', status: 503, retryAfter: '1' }]);
    const r = await run('flush');
    expect(r.code, r.stderr).toBe(0);
    expect(ingest.accepted).toHaveLength(1);
    expect(r.stats).toMatchObject({ accepted: 1, retries: 1, queueDepth: 0 });
  });

  it('ends by itself when nothing is awaited, and delivers at exit: timers never hold the process', async () => {
    // The app ends without flushing: the scheduled batch timer (60 s) must not keep it alive,
    // and what it held is delivered when the event loop empties.
    const r = await runNode(
      [
        '--input-type=module',
        '-e',
        "import { FenraSpanProcessor } from '@fenra/otel'; new FenraSpanProcessor({ scheduledDelayMillis: 60000 }).onEnd({ attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-4o-mini', 'gen_ai.usage.input_tokens': 1, 'gen_ai.usage.output_tokens': 1 }, resource: { attributes: {} }, spanContext: () => ({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331' }), startTime: [1, 0], endTime: [2, 0], events: [] });",
      ],
      { FENRA_API_KEY: 'test-key', FENRA_ENDPOINT: ingest.url },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(ingest.requests).toHaveLength(1);
    expect(ingest.accepted).toHaveLength(1);
  });
});
