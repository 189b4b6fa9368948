/**
 * Deterministic keys, roots, manifests and bundles for the bundle tests and the malicious
 * corpus. No Node APIs: the same fixtures run in Chromium from a test page.
 */
import { addSignature, encodeEnvelope, type Envelope } from '../../src/bundle/dsse.ts';
import { createBundle, type ManifestDraft } from '../../src/bundle/create.ts';
import { publicKeyOf } from '../../src/bundle/ed25519.ts';
import {
  createRootEnvelope,
  loadTrustRoot,
  type RootContent,
  type TrustRoot,
} from '../../src/bundle/trust-root.ts';

/** A secret key from a one-byte seed: `key(1)`, `key(2)`… always the same. */
export function key(n: number): Uint8Array {
  return new Uint8Array(32).fill(n);
}

/** The fixed "now" of every test. Manifests are valid from NOW − 1 day to NOW + 1 year. */
export const NOW = new Date('2026-06-01T12:00:00Z');
export const CREATED = '2026-05-31T12:00:00Z';
export const EXPIRES = '2027-06-01T00:00:00Z';
const ROOT_EXPIRES = '2030-01-01T00:00:00Z';

/** A root envelope over `content`, signed by each of `signers`. */
function rootEnvelope(
  content: Partial<RootContent> & { keys: readonly number[] },
  signers: readonly number[],
): Envelope {
  let env = createRootEnvelope({
    version: content.version ?? 1,
    expires: content.expires ?? ROOT_EXPIRES,
    threshold: content.threshold ?? content.keys.length,
    publicKeys: content.keys.map((k) => publicKeyOf(key(k))),
  });
  for (const s of signers) env = addSignature(env, key(s));
  return env;
}

/** The envelope bytes of `rootEnvelope(...)`. */
export function rootBytes(
  content: Partial<RootContent> & { keys: readonly number[] },
  signers: readonly number[],
): Uint8Array {
  return encodeEnvelope(rootEnvelope(content, signers));
}

/** Root 1: keys 1, 2, 3 with threshold 2, self-signed by all three. The pinned root of the tests. */
export function pinnedTestRoot(): TrustRoot {
  return loadTrustRoot(rootBytes({ keys: [1, 2, 3], threshold: 2 }, [1, 2, 3]));
}

/** Root 2: keys 3, 4, 5 with threshold 2, signed by root 1's keys 1, 2 and its own 4, 5. */
export function rotatedRoot(): TrustRoot {
  return loadTrustRoot(rootBytes({ version: 2, keys: [3, 4, 5], threshold: 2 }, [1, 2, 4, 5]));
}

/** Two small images with recognisable content. */
export function testImages(): Map<string, Uint8Array> {
  const boot = new Uint8Array(1500).map((_, i) => (i * 7) & 0xff);
  const app = new Uint8Array(6000).map((_, i) => (i * 13 + 5) & 0xff);
  return new Map([
    ['bootloader', boot],
    ['app', app],
  ]);
}

/** A manifest for an ESP32-S3 product with a bootloader and an app. */
export function testManifest(over: Partial<ManifestDraft> = {}): ManifestDraft {
  return {
    product: 'acme-sensor',
    version: '1.4.2',
    securityCounter: 3,
    created: CREATED,
    expires: EXPIRES,
    notes: 'Lower sleep current.',
    targets: [
      {
        chip: 'esp32s3',
        protocol: 'esp-serial',
        writes: ['bootloader', 'app'],
        images: [
          { name: 'bootloader', address: 0x0 },
          { name: 'app', address: 0x10000 },
        ],
      },
    ],
    ...over,
  };
}

/** A valid bundle signed by keys 1 and 2 of the pinned test root. */
export function goodBundle(
  over: Partial<ManifestDraft> = {},
  signers: readonly number[] = [1, 2],
): Uint8Array {
  return createBundle({
    manifest: testManifest(over),
    images: testImages(),
    signers: signers.map(key),
  });
}

/** Splits bytes into chunks of the given sizes, cycling through them. */
export function chunked(bytes: Uint8Array, sizes: readonly number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const n = Math.max(1, sizes[i % sizes.length]!);
    out.push(bytes.slice(at, at + n));
    at += n;
  }
  return out;
}
