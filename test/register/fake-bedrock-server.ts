import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { createServer } from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A fake Amazon Bedrock Runtime endpoint (node:http2 in cleartext, as the Bedrock Runtime
 * client's HTTP/2 handler speaks to an `http://` endpoint; 127.0.0.1, port 0) answering, in the real
 * wire format, `POST /model/{modelId}/converse` and `POST /model/{modelId}/invoke` (Anthropic
 * Messages bodies). Call n (0-based) reports `100 + n` input tokens and 20 output tokens; its
 * AWS request id is `req-bedrock-<n>`.
 */
export interface FakeBedrockCall {
  index: number;
  api: 'converse' | 'invoke';
  modelId: string;
  requestId: string;
  inputTokens: number;
  outputTokens: number;
}

export interface FakeBedrockServer {
  /** For the client's `endpoint`, e.g. `http://127.0.0.1:5123`. */
  readonly url: string;
  readonly calls: FakeBedrockCall[];
  close(): Promise<void>;
}

function drain(req: Http2ServerRequest): Promise<void> {
  return new Promise((resolve, reject) => {
    req.on('data', () => undefined);
    req.on('end', resolve);
    req.on('error', reject);
  });
}

function send(res: Http2ServerResponse, call: FakeBedrockCall, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(200, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': call.requestId,
  });
  res.end(text);
}

export async function startFakeBedrockServer(): Promise<FakeBedrockServer> {
  const calls: FakeBedrockCall[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req: Http2ServerRequest, res: Http2ServerResponse) => {
    void (async () => {
      await drain(req);
      const m = /^\/model\/([^/]+)\/(converse|invoke)$/.exec(req.url ?? '');
      if (req.method !== 'POST' || !m) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: `no route ${req.method} ${req.url}` }));
        return;
      }
      const index = calls.length;
      const call: FakeBedrockCall = {
        index,
        api: m[2] as 'converse' | 'invoke',
        modelId: decodeURIComponent(m[1]!),
        requestId: `req-bedrock-${index}`,
        inputTokens: 100 + index,
        outputTokens: 20,
      };
      calls.push(call);
      if (call.api === 'converse') {
        send(res, call, {
          output: { message: { role: 'assistant', content: [{ text: 'Hello from Bedrock.' }] } },
          stopReason: 'end_turn',
          usage: {
            inputTokens: call.inputTokens,
            outputTokens: call.outputTokens,
            totalTokens: call.inputTokens + call.outputTokens,
          },
          metrics: { latencyMs: 12 },
        });
      } else {
        send(res, call, {
          id: `msg_bdrk_${index}`,
          type: 'message',
          role: 'assistant',
          model: 'claude-3-5-haiku-20241022',
          content: [{ type: 'text', text: 'Hello from Bedrock.' }],
          stop_reason: 'end_turn',
          stop_sequence: null,
          usage: { input_tokens: call.inputTokens, output_tokens: call.outputTokens },
        });
      }
    })().catch(() => {
      res.writeHead(500);
      res.end();
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
