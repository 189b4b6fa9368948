/**
 * ECDSA P-256 signature verification for the simulated MCUboot (SEC 1 v2 §4.1.4 "Verifying
 * Operation", curve parameters from SEC 2 v2 §2.4.2 / FIPS 186-4 D.1.2.3), in BigInt Jacobian
 * arithmetic. Simulator-only: it checks that an image was signed by a configured key the way
 * MCUboot's `bootutil_verify_sig` does; it is not constant-time and guards no secret.
 */

const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const A = P - 3n;
const B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn;
const GX = 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n;
const GY = 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n;

type Jacobian = [bigint, bigint, bigint];
const INFINITY: Jacobian = [0n, 1n, 0n];

const mod = (a: bigint, m = P): bigint => ((a % m) + m) % m;

function inv(a: bigint, m: bigint): bigint {
  // Fermat: a^(m-2) mod m, m prime.
  let result = 1n;
  let base = mod(a, m);
  let e = m - 2n;
  while (e > 0n) {
    if (e & 1n) result = (result * base) % m;
    base = (base * base) % m;
    e >>= 1n;
  }
  return result;
}

function double([x, y, z]: Jacobian): Jacobian {
  if (z === 0n || y === 0n) return INFINITY;
  const yy = mod(y * y);
  const s = mod(4n * x * yy);
  const zz = mod(z * z);
  const m = mod(3n * x * x + A * zz * zz);
  const x3 = mod(m * m - 2n * s);
  return [x3, mod(m * (s - x3) - 8n * yy * yy), mod(2n * y * z)];
}

function add(p: Jacobian, q: Jacobian): Jacobian {
  if (p[2] === 0n) return q;
  if (q[2] === 0n) return p;
  const z1z1 = mod(p[2] * p[2]);
  const z2z2 = mod(q[2] * q[2]);
  const u1 = mod(p[0] * z2z2);
  const u2 = mod(q[0] * z1z1);
  const s1 = mod(p[1] * q[2] * z2z2);
  const s2 = mod(q[1] * p[2] * z1z1);
  if (u1 === u2) return s1 === s2 ? double(p) : INFINITY;
  const h = mod(u2 - u1);
  const r = mod(s2 - s1);
  const hh = mod(h * h);
  const hhh = mod(h * hh);
  const v = mod(u1 * hh);
  const x3 = mod(r * r - hhh - 2n * v);
  return [x3, mod(r * (v - x3) - s1 * hhh), mod(p[2] * q[2] * h)];
}

function multiply(k: bigint, p: Jacobian): Jacobian {
  let acc = INFINITY;
  let addend = p;
  while (k > 0n) {
    if (k & 1n) acc = add(acc, addend);
    addend = double(addend);
    k >>= 1n;
  }
  return acc;
}

function affineX([x, , z]: Jacobian): bigint {
  const zi = inv(z, P);
  return mod(x * zi * zi);
}

function toBig(bytes: Uint8Array): bigint {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n;
}

/** r and s of a DER `ECDSA-Sig-Value` (SEQUENCE of two INTEGERs), or undefined. */
export function parseDerSignature(der: Uint8Array): { r: bigint; s: bigint } | undefined {
  let at = 0;
  const byte = (): number | undefined => der[at++];
  if (byte() !== 0x30) return undefined;
  const total = byte();
  if (total === undefined || total & 0x80 || total !== der.length - 2) return undefined;
  const int = (): bigint | undefined => {
    if (byte() !== 0x02) return undefined;
    const len = byte();
    if (len === undefined || len === 0 || len > 33 || at + len > der.length) return undefined;
    const v = toBig(der.subarray(at, at + len));
    at += len;
    return v;
  };
  const r = int();
  const s = int();
  return r === undefined || s === undefined || at !== der.length ? undefined : { r, s };
}

/** The uncompressed point of a P-256 SubjectPublicKeyInfo (its last 65 bytes, 0x04 X Y). */
function spkiPoint(spki: Uint8Array): [bigint, bigint] | undefined {
  if (spki.length < 65 || spki[spki.length - 65] !== 0x04) return undefined;
  const x = toBig(spki.subarray(spki.length - 64, spki.length - 32));
  const y = toBig(spki.subarray(spki.length - 32));
  if (x >= P || y >= P || mod(y * y - (x * x * x + A * x + B)) !== 0n) return undefined;
  return [x, y];
}

/**
 * Verifies a DER ECDSA P-256 signature over a 32-byte SHA-256 digest with the key in a DER
 * SubjectPublicKeyInfo. Never throws.
 */
export function verifyP256(args: {
  spki: Uint8Array;
  digest: Uint8Array;
  signature: Uint8Array;
}): boolean {
  const sig = parseDerSignature(args.signature);
  const q = spkiPoint(args.spki);
  if (!sig || !q || args.digest.length !== 32) return false;
  const { r, s } = sig;
  if (r <= 0n || r >= N || s <= 0n || s >= N) return false;
  const e = toBig(args.digest);
  const w = inv(s, N);
  const u1 = mod(e * w, N);
  const u2 = mod(r * w, N);
  const point = add(multiply(u1, [GX, GY, 1n]), multiply(u2, [q[0], q[1], 1n]));
  if (point[2] === 0n) return false;
  return mod(affineX(point), N) === r;
}
