/**
 * The few protobuf wire reads the OTLP scanner needs, over a Buffer: varints, fixed32, doubles,
 * and skipping a field by its wire type. A small monomorphic class the JIT inlines (protobufjs's
 * Reader does the same work behind more indirection). Every read past the end throws a
 * RangeError; the scanner checks each field against its own message's end.
 */
export class WireReader {
  readonly buf: Buffer;
  readonly len: number;
  pos = 0;

  constructor(buf: Buffer) {
    this.buf = buf;
    this.len = buf.length;
  }

  /** A varint's low 32 bits, unsigned (a longer varint is read whole). */
  uint32(): number {
    const buf = this.buf;
    let pos = this.pos;
    if (pos < this.len) {
      const b = buf[pos]!;
      if (b < 0x80) {
        this.pos = pos + 1;
        return b;
      }
    }
    let value = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (pos >= this.len) throw this.outOfRange(pos);
      const b = buf[pos++]!;
      if (shift < 32) value |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.pos = pos;
        return value >>> 0;
      }
    }
    throw new RangeError(`invalid varint encoding at offset ${pos}`);
  }

  /** A varint as a signed 32-bit number (int32 and enums). */
  int32(): number {
    return this.uint32() | 0;
  }

  bool(): boolean {
    return this.uint32() !== 0;
  }

  fixed32(): number {
    const pos = this.pos;
    if (pos + 4 > this.len) throw this.outOfRange(pos, 4);
    this.pos = pos + 4;
    const buf = this.buf;
    return (buf[pos]! | (buf[pos + 1]! << 8) | (buf[pos + 2]! << 16) | (buf[pos + 3]! << 24)) >>> 0;
  }

  double(): number {
    const pos = this.pos;
    if (pos + 8 > this.len) throw this.outOfRange(pos, 8);
    this.pos = pos + 8;
    return this.buf.readDoubleLE(pos);
  }

  /** Skips a field of wire type `wire` (groups are not OTLP: an error). */
  skipType(wire: number): void {
    switch (wire) {
      case 0:
        this.uint32();
        return;
      case 1:
        return this.skip(8);
      case 2:
        return this.skip(this.uint32());
      case 5:
        return this.skip(4);
      default:
        throw new TypeError(`invalid wire type ${wire} at offset ${this.pos}`);
    }
  }

  private skip(n: number): void {
    if (this.pos + n > this.len) throw this.outOfRange(this.pos, n);
    this.pos += n;
  }

  private outOfRange(pos: number, n = 1): RangeError {
    return new RangeError(`index out of range: ${pos} + ${n} > ${this.len}`);
  }
}
