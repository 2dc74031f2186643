import { readFile } from 'node:fs/promises';
import type { Writable } from 'node:stream';

/** Reads a file, or standard input for `-`. */
export async function readInput(path: string, stdin: NodeJS.ReadableStream = process.stdin): Promise<string> {
  if (path !== '-') return readFile(path, 'utf8');
  const chunks: Buffer[] = [];
  for await (const chunk of stdin)
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** Writes honouring back-pressure, so large outputs to a pipe don't pile up in memory. */
export async function writeLine(out: Writable, line: string): Promise<void> {
  if (!out.write(line + '\n')) await new Promise<void>((resolve) => out.once('drain', resolve));
}
