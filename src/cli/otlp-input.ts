import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { parseOtlpJsonText, tryParse } from '../span/from-otlp-json.js';

/** One OTLP/JSON document read from the input, or why a piece of it could not be read. */
export type InputItem = { request: unknown } | { error: string };

/** How far the reading got, for progress (bytes of the file; the size is unknown for stdin). */
export interface InputProgress {
  bytesRead: number;
  totalBytes: number | undefined;
}

/**
 * Reads OTLP/JSON from a file (or standard input for `-`) as it streams: JSON Lines (one
 * ExportTraceServiceRequest per line, as the Collector's `file` exporter writes) are parsed line
 * by line in bounded memory; a pretty-printed single document is read whole. A bad line is
 * reported with its number and the other lines are still read, the first line included: a file
 * whose first line is not JSON is read whole, and only if it is not one JSON document either
 * are its lines tried one by one. Throws only when the input cannot be opened or read.
 */
export async function* readOtlpJson(
  path: string,
  stdin: NodeJS.ReadableStream,
  progress: InputProgress,
): AsyncGenerator<InputItem> {
  if (path !== '-') progress.totalBytes = (await stat(path)).size;
  const stream: NodeJS.ReadableStream =
    path === '-' ? stdin : createReadStream(path, { highWaterMark: 1 << 20 });
  stream.on('data', (chunk: Buffer | string) => {
    progress.bytesRead += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
  });
  const lines = createInterface({ input: stream, crlfDelay: Infinity });

  let lineNo = 0;
  let mode: 'first' | 'lines' | 'document' = 'first';
  const held: string[] = [];
  for await (let line of lines) {
    lineNo++;
    if (mode === 'lines') {
      if (line.trim() === '') continue;
      const parsed = tryParse(line);
      yield 'error' in parsed
        ? { error: `line ${lineNo}: invalid JSON: ${parsed.error}` }
        : { request: parsed.value };
      continue;
    }
    if (mode === 'document') {
      held.push(line);
      continue;
    }
    if (lineNo === 1 && line.charCodeAt(0) === 0xfeff) line = line.slice(1);
    if (line.trim() === '') {
      held.push(line);
      continue;
    }
    const parsed = tryParse(line);
    if ('value' in parsed) {
      mode = 'lines';
      held.length = 0;
      yield { request: parsed.value };
    } else {
      mode = 'document';
      held.push(line);
    }
  }
  if (mode === 'first') {
    yield { error: 'empty input: no OTLP/JSON document' };
    return;
  }
  if (mode === 'lines') return;
  // A pretty-printed document, or JSON Lines whose first line is broken: read as a whole.
  const whole = parseOtlpJsonText(held.join('\n'));
  for (const request of whole.requests) yield { request };
  for (const error of whole.errors) yield { error };
}
