import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A fake OpenAI Chat Completions endpoint (node:http, 127.0.0.1, port 0) speaking the real wire
 * format, streamed (SSE, with `stream_options.include_usage`) or not. Call n (0-based) answers
 * model `<requested>-2025-04-14` with `prompt_tokens` 100 + n and `completion_tokens` 20, and id
 * `chatcmpl-fake-<n>`, so a test can compute what each call must bill.
 *
 * It also answers Anthropic's `POST /v1/messages` (non-streaming): model as requested, id
 * `msg_fake_<n>`, `input_tokens` 100 + n, `output_tokens` 20, no cache.
 */
export interface FakeOpenAiCall {
  index: number;
  api: 'openai.chat' | 'anthropic.messages';
  id: string;
  model: string;
  stream: boolean;
  promptTokens: number;
  completionTokens: number;
  headers: IncomingMessage['headers'];
}

export interface FakeOpenAiServer {
  /** Base URL for the SDK (`OPENAI_BASE_URL`), e.g. `http://127.0.0.1:5123/v1`. */
  readonly baseUrl: string;
  readonly calls: FakeOpenAiCall[];
  close(): Promise<void>;
}

function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>);
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    });
    req.on('error', reject);
  });
}

function answer(res: ServerResponse, call: FakeOpenAiCall, created: number): void {
  const usage = {
    prompt_tokens: call.promptTokens,
    completion_tokens: call.completionTokens,
    total_tokens: call.promptTokens + call.completionTokens,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0 },
  };
  const base = { id: call.id, created, model: call.model, system_fingerprint: 'fp_fake' };
  const headers = { 'x-request-id': `req_fake_${call.index}` };
  if (!call.stream) {
    const body = JSON.stringify({
      ...base,
      object: 'chat.completion',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: 'Hello from the fake.', refusal: null },
          logprobs: null,
          finish_reason: 'stop',
        },
      ],
      usage,
      service_tier: 'default',
    });
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      ...headers,
    });
    res.end(body);
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...headers });
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}): string =>
    `data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices, usage: null, ...extra })}\n\n`;
  res.write(chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]));
  res.write(chunk([{ index: 0, delta: { content: 'Hello from the fake.' }, finish_reason: null }]));
  res.write(chunk([{ index: 0, delta: {}, finish_reason: 'stop' }]));
  res.write(chunk([], { usage }));
  res.end('data: [DONE]\n\n');
}

export async function startFakeOpenAiServer(): Promise<FakeOpenAiServer> {
  const calls: FakeOpenAiCall[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    void (async () => {
      if (req.method === 'POST' && req.url === '/v1/messages') {
        const body = await readJson(req);
        const index = calls.length;
        const call: FakeOpenAiCall = {
          index,
          api: 'anthropic.messages',
          id: `msg_fake_${index}`,
          model: typeof body['model'] === 'string' ? body['model'] : 'claude-haiku-4-5',
          stream: false,
          promptTokens: 100 + index,
          completionTokens: 20,
          headers: req.headers,
        };
        calls.push(call);
        const text = JSON.stringify({
          id: call.id,
          type: 'message',
          role: 'assistant',
          model: call.model,
          content: [{ type: 'text', text: 'Hello from the fake.' }],
          stop_reason: 'end_turn',
          stop_sequence: null,
          usage: {
            input_tokens: call.promptTokens,
            output_tokens: call.completionTokens,
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: 0,
          },
        });
        res.writeHead(200, {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(text),
          'request-id': `req_fake_${index}`,
        });
        res.end(text);
        return;
      }
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            error: { message: `no route ${req.method} ${req.url}`, type: 'invalid_request_error' },
          }),
        );
        return;
      }
      const body = await readJson(req);
      const index = calls.length;
      const requested = typeof body['model'] === 'string' ? body['model'] : 'gpt-4.1-mini';
      const call: FakeOpenAiCall = {
        index,
        api: 'openai.chat',
        id: `chatcmpl-fake-${index}`,
        model: `${requested}-2025-04-14`,
        stream: body['stream'] === true,
        promptTokens: 100 + index,
        completionTokens: 20,
        headers: req.headers,
      };
      calls.push(call);
      answer(res, call, Math.floor(Date.now() / 1000));
    })().catch(() => {
      res.destroy();
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
