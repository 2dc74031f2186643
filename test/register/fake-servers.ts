import { afterEach, beforeEach } from 'vitest';
import type { FakeOpenAiServer } from '../helpers/fake-openai-server.js';
import { startFakeOpenAiServer } from '../helpers/fake-openai-server.js';
import type { IngestServer } from '../helpers/ingest-server.js';
import { startIngestServer } from '../helpers/ingest-server.js';

export interface FakeServers {
  /** The strict fake Fenra (API key `test-key`), new for each test. */
  readonly ingest: IngestServer;
  /** The fake OpenAI API, new for each test. */
  readonly llm: FakeOpenAiServer;
  /** The environment pointing an app at both (plus `extra`, which wins). */
  env(extra?: Record<string, string>): Record<string, string>;
}

/**
 * For a test file of apps run under the register entry: a fake Fenra and a fake OpenAI server
 * started before each test and closed after it, and the environment that points an app at them.
 */
export function useFakeServers(base: Record<string, string> = {}): FakeServers {
  let ingest: IngestServer | undefined;
  let llm: FakeOpenAiServer | undefined;
  beforeEach(async () => {
    ingest = await startIngestServer({ apiKey: 'test-key' });
    llm = await startFakeOpenAiServer();
  });
  afterEach(async () => {
    await ingest?.close();
    await llm?.close();
  });
  return {
    get ingest() {
      return ingest!;
    },
    get llm() {
      return llm!;
    },
    env: (extra = {}) => ({
      FENRA_API_KEY: 'test-key',
      FENRA_ENDPOINT: ingest!.url,
      OPENAI_BASE_URL: llm!.baseUrl,
      OPENAI_API_KEY: 'sk-test-not-real',
      ...base,
      ...extra,
    }),
  };
}
