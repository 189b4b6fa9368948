/**
 * MD5 (RFC 1321), only to compare flash contents with what the ESP bootloader's SPI_FLASH_MD5
 * command reports. Not for security: MD5 is broken for collision resistance. Release bundles are
 * protected by SHA-256 and Ed25519 elsewhere.
 */

// RFC 1321 §3.4: T[i] = floor(2^32 × |sin(i + 1)|).
const T = new Uint32Array(64);
for (let i = 0; i < 64; i++) T[i] = Math.floor(2 ** 32 * Math.abs(Math.sin(i + 1))) >>> 0;

// RFC 1321 §3.4: per-round shift amounts.
const S = [
  7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14,
  20, 5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15, 21, 6,
  10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
];

/** Incremental MD5: `update()` any number of times, then `digest()` once. */
export class Md5 {
  private readonly state = new Uint32Array([0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476]);
  private readonly block = new Uint8Array(64);
  private readonly x = new Uint32Array(16);
  private blockLen = 0;
  private length = 0;
  private done = false;

  /** Adds bytes; returns this. @throws {Error} after `digest()`. */
  update(data: Uint8Array): this {
    if (this.done) throw new Error('Md5: update() after digest()');
    this.length += data.length;
    let i = 0;
    if (this.blockLen > 0) {
      const n = Math.min(64 - this.blockLen, data.length);
      this.block.set(data.subarray(0, n), this.blockLen);
      this.blockLen += n;
      i = n;
      if (this.blockLen < 64) return this;
      this.compress(this.block, 0);
      this.blockLen = 0;
    }
    for (; i + 64 <= data.length; i += 64) this.compress(data, i);
    if (i < data.length) {
      this.block.set(data.subarray(i), 0);
      this.blockLen = data.length - i;
    }
    return this;
  }

  /** The 16-byte digest (RFC 1321 §3.5). */
  digest(): Uint8Array {
    if (this.done) throw new Error('Md5: digest() called twice');
    // RFC 1321 §3.1-3.2: append 0x80, zeros to 56 mod 64, then the bit length (64-bit LE).
    const bits = this.length * 8;
    const pad = new Uint8Array((this.blockLen < 56 ? 56 : 120) - this.blockLen + 8);
    pad[0] = 0x80;
    const v = new DataView(pad.buffer);
    v.setUint32(pad.length - 8, bits >>> 0, true);
    v.setUint32(pad.length - 4, Math.floor(bits / 2 ** 32) >>> 0, true);
    this.update(pad);
    this.done = true;
    const out = new Uint8Array(16);
    const ov = new DataView(out.buffer);
    for (let i = 0; i < 4; i++) ov.setUint32(i * 4, this.state[i]!, true);
    return out;
  }

  private compress(buf: Uint8Array, offset: number): void {
    const x = this.x;
    for (let i = 0; i < 16; i++) {
      const o = offset + i * 4;
      x[i] = (buf[o]! | (buf[o + 1]! << 8) | (buf[o + 2]! << 16) | (buf[o + 3]! << 24)) >>> 0;
    }
    let [a, b, c, d] = this.state as unknown as [number, number, number, number];
    for (let i = 0; i < 64; i++) {
      let f: number;
      let g: number;
      if (i < 16) {
        f = (b & c) | (~b & d);
        g = i;
      } else if (i < 32) {
        f = (d & b) | (~d & c);
        g = (5 * i + 1) % 16;
      } else if (i < 48) {
        f = b ^ c ^ d;
        g = (3 * i + 5) % 16;
      } else {
        f = c ^ (b | ~d);
        g = (7 * i) % 16;
      }
      const sum = (a + f + T[i]! + x[g]!) | 0;
      const s = S[i]!;
      a = d;
      d = c;
      c = b;
      b = (b + ((sum << s) | (sum >>> (32 - s)))) | 0;
    }
    this.state[0] = (this.state[0]! + a) >>> 0;
    this.state[1] = (this.state[1]! + b) >>> 0;
    this.state[2] = (this.state[2]! + c) >>> 0;
    this.state[3] = (this.state[3]! + d) >>> 0;
  }
}

/**
 * MD5 digest of `data` (RFC 1321).
 * @example toHex(md5(new TextEncoder().encode('abc'))) // "900150983cd24fb0d6963f7d28e17f72"
 */
export function md5(data: Uint8Array): Uint8Array {
  return new Md5().update(data).digest();
}
