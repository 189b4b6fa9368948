// MD5 as the ESP flash check uses it (@noble/hashes `legacy`): the RFC 1321 test suite and
// agreement with node:crypto, so the digest the driver compares with SPI_FLASH_MD5 is right.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { md5 } from '@noble/hashes/legacy.js';
import { toHex } from '../../src/core/bytes.ts';
import rfc from '../vectors/esp/rfc1321-md5.json' with { type: 'json' };

const utf8 = (s: string) => new TextEncoder().encode(s);

describe('md5', () => {
  it.each(rfc.vectors)('RFC 1321 §A.5: MD5("$message")', ({ message, md5: expected }) => {
    expect(toHex(md5(utf8(message)))).toBe(expected);
  });

  it('gives the same digest for any split of the input (fast-check)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(300), (data, cut) => {
        const at = Math.min(cut, data.length);
        const h = md5.create().update(data.subarray(0, at)).update(data.subarray(at)).digest();
        expect(toHex(h)).toBe(toHex(md5(data)));
      }),
    );
  });

  it('agrees with node:crypto on random inputs around block boundaries (fast-check)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 50, maxLength: 200 }), (data) => {
        expect(toHex(md5(data))).toBe(createHash('md5').update(data).digest('hex'));
      }),
    );
  });

  it('refuses use after digest and leaves the input unmodified', () => {
    const data = utf8('abc');
    const h = md5.create().update(data);
    h.digest();
    expect(() => h.update(data)).toThrow();
    expect(() => h.digest()).toThrow();
    expect(toHex(data)).toBe('616263');
  });
});
