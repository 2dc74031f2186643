import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A fake OpenAI Chat Completions endpoint on 127.0.0.1 (port 0) answering like the real API,
 * including SSE streaming with `stream_options.include_usage`. Each call's usage is distinct
 * (input grows with the call number) so tests can tell calls apart.
 */
export interface FakeOpenAI {
  /** Base URL for the SDK (`…/v1`). */
  readonly baseURL: string;
  /** Usage returned per call, in order. */
  readonly usages: Array<{ prompt_tokens: number; completion_tokens: number; total_tokens: number }>;
  close(): Promise<void>;
}

export async function startFakeOpenAI(): Promise<FakeOpenAI> {
  const usages: FakeOpenAI['usages'] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
        res.writeHead(404).end();
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        model: string;
        stream?: boolean;
        stream_options?: { include_usage?: boolean };
      };
      const n = usages.length + 1;
      const usage = { prompt_tokens: 100 + n, completion_tokens: 10 + n, total_tokens: 110 + 2 * n };
      usages.push(usage);
      const id = `chatcmpl-fake-${n}`;
      const model = `${body.model}-2024-07-18`;
      const created = Math.floor(Date.now() / 1000);
      if (body.stream) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const send = (o: unknown) => res.write(`data: ${JSON.stringify(o)}\n\n`);
        send({
          id,
          object: 'chat.completion.chunk',
          created,
          model,
          choices: [{ index: 0, delta: { role: 'assistant', content: 'Hi' }, finish_reason: null }],
        });
        send({
          id,
          object: 'chat.completion.chunk',
          created,
          model,
          choices: [{ index: 0, delta: {}, finish_reason: 'stop' }],
        });
        if (body.stream_options?.include_usage)
          send({ id, object: 'chat.completion.chunk', created, model, choices: [], usage });
        res.end('data: [DONE]\n\n');
        return;
      }
      const text = JSON.stringify({
        id,
        object: 'chat.completion',
        created,
        model,
        choices: [{ index: 0, message: { role: 'assistant', content: 'Hello!' }, finish_reason: 'stop' }],
        usage,
      });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    usages,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
