import { outOfRangeError } from '../errors';

/**
 * Little-endian field access for the on-media format. 64-bit fields hold safe integers (below 2^53),
 * written as two 32-bit halves so no BigInt is needed.
 */
export class Codec {
  bytes: Uint8Array;
  view: DataView;
  pos: number;
  /** Where reading must stop (`need`): the end of the bytes, or of one record in them. */
  end: number;

  constructor(bytes: Uint8Array, pos = 0) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = pos;
    this.end = bytes.length;
  }

  /** Room for `n` more bytes, growing the buffer (writers only; the bytes so far are kept). */
  ensure(n: number): void {
    if (this.pos + n <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(this.pos + n, this.bytes.length * 2));
    grown.set(this.bytes.subarray(0, this.pos));
    this.bytes = grown;
    this.view = new DataView(grown.buffer);
    this.end = grown.length;
  }

  /** Throws a RangeError unless `n` more bytes can be read (a bound for decoding media). */
  need(n: number): void {
    if (n < 0 || this.pos + n > this.end) throw outOfRangeError(`need ${n} bytes at ${this.pos}, have ${this.end - this.pos}`);
  }

  /** Bytes left to read. */
  get left(): number {
    return this.end - this.pos;
  }

  u8(): number {
    const v = this.view.getUint8(this.pos);
    this.pos += 1;
    return v;
  }

  u16(): number {
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }

  u32(): number {
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  u64(): number {
    const lo = this.view.getUint32(this.pos, true);
    const hi = this.view.getUint32(this.pos + 4, true);
    this.pos += 8;
    return hi * 0x1_0000_0000 + lo;
  }

  raw(n: number): Uint8Array {
    const v = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  putU8(v: number): void {
    this.view.setUint8(this.pos, v);
    this.pos += 1;
  }

  putU16(v: number): void {
    this.view.setUint16(this.pos, v, true);
    this.pos += 2;
  }

  putU32(v: number): void {
    this.view.setUint32(this.pos, v, true);
    this.pos += 4;
  }

  putU64(v: number): void {
    this.view.setUint32(this.pos, v % 0x1_0000_0000, true);
    this.view.setUint32(this.pos + 4, Math.floor(v / 0x1_0000_0000), true);
    this.pos += 8;
  }

  putRaw(v: Uint8Array): void {
    this.bytes.set(v, this.pos);
    this.pos += v.length;
  }
}
