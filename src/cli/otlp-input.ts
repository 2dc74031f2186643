import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { tryParse } from '../span/from-otlp-json.js';

/** One OTLP/JSON document read from the input, or why a piece of it could not be read. */
export type InputItem = { request: unknown } | { error: string };

/** How far the reading got, for progress (bytes of the file; the size is unknown for stdin). */
export interface InputProgress {
  bytesRead: number;
  totalBytes: number | undefined;
}

/**
 * Reads OTLP/JSON from a file (or standard input for `-`) as it streams, never holding more
 * than one request's worth of text:
 * - JSON Lines (one ExportTraceServiceRequest per line, as the Collector's `file` exporter
 *   writes) are parsed line by line; a bad line is reported with its number, the others read.
 * - A first line that is not JSON by itself is either a broken line of JSON Lines (the next
 *   non-empty line is a request on its own: the file is read as lines, the broken ones
 *   reported) or the start of a pretty-printed document, which is read as it streams too: each
 *   element of its `resourceSpans` array is yielded as a request of its own once it is complete
 *   (memory bounded by the largest element). A document that turns out broken is reported,
 *   and the lines after the break are read as JSON Lines.
 * Throws only when the input cannot be opened or read.
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
  let mode: 'first' | 'second' | 'lines' | 'document' = 'first';
  /** The broken first line (and blank ones after it) while the second decides. */
  const held: { no: number; text: string }[] = [];
  let doc: DocumentSplitter | undefined;
  for await (let line of lines) {
    lineNo++;
    if (mode === 'lines') {
      if (line.trim() !== '') yield lineItem(line, lineNo);
      continue;
    }
    if (mode === 'document') {
      const out = doc!.feed(line + '\n', lineNo);
      for (const item of out.items) yield item;
      if (out.broken) mode = 'lines'; // what follows the break is read line by line
      if (out.again) yield lineItem(line, lineNo);
      continue;
    }
    if (lineNo === 1 && line.charCodeAt(0) === 0xfeff) line = line.slice(1);
    if (line.trim() === '') {
      if (mode === 'second') held.push({ no: lineNo, text: line });
      continue;
    }
    if (mode === 'first') {
      const parsed = tryParse(line);
      if ('value' in parsed) {
        mode = 'lines';
        yield { request: parsed.value };
      } else {
        mode = 'second';
        held.push({ no: lineNo, text: line });
      }
      continue;
    }
    // The second non-empty line decides: a request on its own means JSON Lines.
    const parsed = tryParse(line);
    if ('value' in parsed && isRequest(parsed.value)) {
      mode = 'lines';
      for (const h of held) if (h.text.trim() !== '') yield lineItem(h.text, h.no);
      held.length = 0;
      yield { request: parsed.value };
      continue;
    }
    mode = 'document';
    doc = new DocumentSplitter();
    for (const h of [...held, { no: lineNo, text: line }]) {
      if (mode === 'lines') {
        if (h.text.trim() !== '') yield lineItem(h.text, h.no);
        continue;
      }
      const out = doc.feed(h.text + '\n', h.no);
      for (const item of out.items) yield item;
      if (out.broken) mode = 'lines';
      if (out.again) yield lineItem(h.text, h.no);
    }
    held.length = 0;
  }
  if (mode === 'first') {
    yield { error: 'empty input: no OTLP/JSON document' };
    return;
  }
  if (mode === 'second') {
    // One non-empty line only, and not JSON.
    for (const h of held) if (h.text.trim() !== '') yield lineItem(h.text, h.no);
    return;
  }
  if (mode === 'document') for (const item of doc!.end()) yield item;
}

function lineItem(line: string, no: number): InputItem {
  const parsed = tryParse(line);
  return 'error' in parsed
    ? { error: `line ${no}: invalid JSON: ${parsed.error}` }
    : { request: parsed.value };
}

function isRequest(v: unknown): boolean {
  return typeof v === 'object' && v !== null && ('resourceSpans' in v || 'resource_spans' in v);
}

/** The arrays a document is split along: OTLP/JSON's `resourceSpans`, a Jaeger export's `data` (its traces). */
const RESOURCE_SPANS = new Set(['resourceSpans', 'resource_spans', 'data']);

/**
 * Splits one (pretty-printed) ExportTraceServiceRequest as its text streams in: each element of
 * its `resourceSpans` array comes out as a request of its own once its closing brace arrived (a
 * Jaeger JSON export likewise, trace by trace: each element of its `data` array, which carries
 * its own processes).
 * Only the current element's text is held. Tracks strings and nesting, nothing more: each
 * element is validated by parsing it.
 */
class DocumentSplitter {
  private _depth = 0;
  /** The open brackets, innermost last (`{` or `[`). */
  private _open: number[] = [];
  private _inString = false;
  private _escaped = false;
  /** The string just closed at depth 1 (a key, if a colon follows). */
  private _lastString = '';
  private _stringStart = -1;
  private _key = '';
  /** Inside the resourceSpans array (depth 2 is its level). */
  private _inArray = false;
  private _arrayKey = 'resourceSpans';
  private _element: string[] = [];
  private _elementStart = -1;
  private _yielded = 0;
  private _sawKey = false;
  private _done = false;
  private _broken = false;
  private _firstLine = 0;

  /**
   * Takes the next line. `broken`: the rest is not this document (reported, unless `again`:
   * the document ended and this line starts something else, to be read as a line of its own).
   */
  feed(text: string, lineNo: number): { items: InputItem[]; broken: boolean; again?: boolean } {
    if (this._firstLine === 0) this._firstLine = lineNo;
    const items: InputItem[] = [];
    if (this._broken) return { items, broken: true };
    let start = this._elementStart >= 0 || this._element.length > 0 ? 0 : -1;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (this._inString) {
        if (this._escaped) this._escaped = false;
        else if (c === 0x5c) this._escaped = true;
        else if (c === 0x22) {
          this._inString = false;
          if (this._depth === 1 && this._stringStart >= 0)
            this._lastString = text.slice(this._stringStart, i);
        }
        continue;
      }
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) continue;
      if (this._done) return { items, broken: true, again: true }; // another document: read as lines
      if (c === 0x22) {
        this._inString = true;
        this._stringStart = this._depth === 1 ? i + 1 : -1;
        continue;
      }
      if (c === 0x3a && this._depth === 1) {
        this._key = this._lastString;
        continue;
      }
      if (c === 0x7b || c === 0x5b) {
        if (this._depth === 0 && c !== 0x7b)
          return this._break(items, lineNo, 'not an ExportTraceServiceRequest object');
        if (this._depth === 1 && c === 0x5b && RESOURCE_SPANS.has(this._key)) {
          this._inArray = true;
          this._arrayKey = this._key;
          this._sawKey = true;
        }
        this._depth++;
        this._open.push(c);
        if (this._inArray && this._depth === 3) start = i;
        continue;
      }
      if (c === 0x7d || c === 0x5d) {
        if (this._open.pop() !== (c === 0x7d ? 0x7b : 0x5b))
          return this._break(items, lineNo, 'unbalanced brackets');
        this._depth--;
        if (this._inArray && this._depth === 2 && start >= 0) {
          this._element.push(text.slice(start, i + 1));
          items.push(this._emit());
          start = -1;
        } else if (this._inArray && this._depth === 1) this._inArray = false;
        else if (this._depth === 0) this._done = true;
        continue;
      }
      if (this._depth === 0) return this._break(items, lineNo, 'not an ExportTraceServiceRequest object');
    }
    if (start >= 0) this._element.push(text.slice(start));
    this._elementStart = start >= 0 ? 0 : -1;
    return { items, broken: false };
  }

  /** The end of the input: a document never closed is reported. */
  end(): InputItem[] {
    if (this._broken) return [];
    if (!this._done)
      return [{ error: `lines ${this._firstLine}-: the JSON document is not complete (truncated?)` }];
    // A valid document that yielded nothing still counts (as trace data, or as none).
    if (this._yielded === 0) return [{ request: this._sawKey ? { [this._arrayKey]: [] } : {} }];
    return [];
  }

  private _emit(): InputItem {
    const text = this._element.join('');
    this._element = [];
    this._yielded++;
    const parsed = tryParse(text);
    if ('error' in parsed) return { error: `a ${this._arrayKey} element: invalid JSON: ${parsed.error}` };
    return { request: { [this._arrayKey]: [parsed.value] } };
  }

  private _break(items: InputItem[], lineNo: number, why: string): { items: InputItem[]; broken: boolean } {
    this._broken = true;
    this._element = [];
    items.push({ error: `lines ${this._firstLine}-${lineNo}: invalid JSON: ${why}` });
    return { items, broken: true };
  }
}
