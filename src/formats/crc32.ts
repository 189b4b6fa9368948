/**
 * CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), as used by ZIP, PNG and the DFU file
 * suffix. Table-driven; pure.
 */

const TABLE = /* @__PURE__ */ (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/**
 * Continues a CRC-32 register over `data` without the final inversion: start with 0xFFFFFFFF.
 * @example crc32Update(0xffffffff, bytes) ^ 0xffffffff === crc32(bytes)
 */
export function crc32Update(register: number, data: Uint8Array): number {
  let c = register >>> 0;
  for (let i = 0; i < data.length; i++) c = TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return c >>> 0;
}

/**
 * The standard CRC-32 of `data` (check value of "123456789" is 0xCBF43926).
 * @example crc32(new TextEncoder().encode('123456789')) === 0xcbf43926
 */
export function crc32(data: Uint8Array): number {
  return (crc32Update(0xffffffff, data) ^ 0xffffffff) >>> 0;
}
