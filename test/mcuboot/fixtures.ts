/** The imgtool-signed images of test/fixtures/mcuboot (see make-fixtures.sh there). */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('../fixtures/mcuboot/', import.meta.url));

/** Bytes of a fixture file. */
export function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(dir + name));
}

/** What imgtool itself read from each signed image (expected.json). */
export const expected = JSON.parse(readFileSync(dir + 'expected.json', 'utf8')) as Record<
  string,
  { version: string; digest: string }
>;

/** The DER SubjectPublicKeyInfo of a public key PEM file (what imgtool's KEYHASH hashes). */
export function publicKeyDer(name: 'ed25519' | 'ecdsa-p256'): Uint8Array {
  const pem = readFileSync(`${dir}${name}.pub.pem`, 'utf8');
  return new Uint8Array(Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64'));
}

export const SIGNED_IMAGES = Object.keys(expected);
