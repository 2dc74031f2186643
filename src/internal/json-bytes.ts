/** Items per `JSON.stringify` call: each piece stays well under V8's large-object size. */
const PIECE = 64;

const COMMA = 0x2c;

/**
 * `prefix + JSON.stringify(items, replacer) + suffix` as UTF-8 bytes, the same bytes, made
 * without one large string. V8 builds a large `JSON.stringify` result as a chain of parts, and
 * the first thing that reads it (`Buffer.from`, `Buffer.byteLength`, a write) first copies it
 * into one flat string in its large-object space: for a body of 1,000 transactions (about
 * 400 KB) that copy cost as much as the stringify itself, and more than encoding the text.
 * Here the array is written `PIECE` items at a time, each piece measured and written straight
 * into one buffer of the exact size.
 *
 * `replacer` is called per piece: it sees each piece as the root array and item keys counted
 * from 0 in each piece, so it must not depend on either (a replacer of values only).
 */
export function jsonArrayBytes(
  items: readonly unknown[],
  prefix = '',
  suffix = '',
  replacer?: (key: string, value: unknown) => unknown,
): Buffer {
  const pieces: string[] = [];
  let bytes = Buffer.byteLength(prefix) + Buffer.byteLength(suffix);
  if (items.length <= PIECE) pieces.push(JSON.stringify(items, replacer));
  else {
    for (let i = 0; i < items.length; i += PIECE) {
      pieces.push(JSON.stringify(items.slice(i, i + PIECE), replacer));
    }
  }
  for (const p of pieces) bytes += Buffer.byteLength(p);
  // Each later piece's `[` and the `]` before it become one `,`.
  bytes -= pieces.length - 1;
  const out = Buffer.allocUnsafe(bytes);
  let at = out.write(prefix, 0);
  for (let k = 0; k < pieces.length; k++) {
    if (k > 0) at--; // onto the `]` of the piece before
    const start = at;
    at += out.write(pieces[k]!, at);
    if (k > 0) out[start] = COMMA;
  }
  at += out.write(suffix, at);
  if (at !== bytes) throw new Error(`jsonArrayBytes wrote ${at} of ${bytes} bytes`);
  return out;
}
