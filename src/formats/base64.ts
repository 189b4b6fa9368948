/**
 * Standard base64 (RFC 4648 §4) with padding, decoded canonically: one text for one byte
 * sequence. Non-alphabet characters, whitespace, missing or extra padding and non-zero pad bits
 * (RFC 4648 §3.5) are refused, so a signed document cannot be re-encoded into a different but
 * equally accepted text.
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const LOOKUP = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) LOOKUP[ALPHABET.charCodeAt(i)] = i;

/**
 * Encodes bytes as padded standard base64.
 * @example encodeBase64(new Uint8Array([104, 105])) // "aGk="
 */
export function encodeBase64(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 3 <= bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out +=
      ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]! + ALPHABET[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + '==';
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]! + '=';
  }
  return out;
}

/**
 * Decodes padded standard base64, refusing every non-canonical form.
 * @throws {TypeError} when `text` is not canonical padded base64.
 * @example decodeBase64("aGk=") // Uint8Array [104, 105]
 */
export function decodeBase64(text: string): Uint8Array {
  if (text.length % 4 !== 0) throw new TypeError('decodeBase64: length is not a multiple of 4');
  const pad = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((text.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    const last = i + 4 === text.length;
    const values = [0, 0, 0, 0];
    for (let j = 0; j < 4; j++) {
      const c = text.charCodeAt(i + j);
      if (last && j >= 4 - pad) continue; // '=' padding, already counted
      const v = c < 128 ? LOOKUP[c]! : -1;
      if (v < 0) throw new TypeError(`decodeBase64: invalid character at ${i + j}`);
      values[j] = v;
    }
    const n = (values[0]! << 18) | (values[1]! << 12) | (values[2]! << 6) | values[3]!;
    const bytes = last ? 3 - pad : 3;
    if (last && pad > 0 && (n & (pad === 2 ? 0xffff : 0xff)) !== 0) {
      throw new TypeError('decodeBase64: non-zero padding bits');
    }
    if (bytes >= 1) out[o++] = n >> 16;
    if (bytes >= 2) out[o++] = (n >> 8) & 0xff;
    if (bytes >= 3) out[o++] = n & 0xff;
  }
  return out;
}
