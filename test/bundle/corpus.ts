/**
 * The malicious-bundle corpus: one case per way a bundle can lie, grouped by the attack classes
 * of The Update Framework specification (v1.0, §1.5.2 "Goals to protect against specific
 * attacks") plus container and JSON tricks. Each case is the bundle's bytes, the conditions it
 * is checked under, and the reason code it must be rejected with. `runCase` applies the same
 * checks the app does (verifyBundle, then checkTarget and checkRollback when the case names a
 * board); engine tests can use the same bytes to show a simulated board's flash stays untouched.
 *
 * scripts/make-malicious-corpus.ts writes these cases to test/bundle/corpus/ for other tools.
 * No Node APIs here: the corpus also runs in Chromium.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, toHex, view } from '../../src/core/bytes.ts';
import {
  addSignature,
  encodeEnvelope,
  MANIFEST_PAYLOAD_TYPE,
  ROOT_PAYLOAD_TYPE,
} from '../../src/bundle/dsse.ts';
import { encodeBase64 } from '../../src/formats/base64.ts';
import { BundleError, type BundleReason } from '../../src/bundle/errors.ts';
import { encodeManifestPayload, type ManifestContent } from '../../src/bundle/manifest.ts';
import { checkRollback } from '../../src/bundle/rollback.ts';
import { MemoryRollbackStore } from '../../src/bundle/rollback-store.ts';
import { checkTarget, type TargetQuery } from '../../src/bundle/target.ts';
import type { TrustRoot } from '../../src/bundle/trust-root.ts';
import { verifyBundle, type VerifiedBundle, type VerifyOptions } from '../../src/bundle/verify.ts';
import { CREATED, EXPIRES, key, NOW, rootBytes, testImages } from './fixtures.ts';

export type AttackClass =
  | 'arbitrary-software'
  | 'key-compromise-below-threshold'
  | 'rollback'
  | 'indefinite-freeze'
  | 'endless-data'
  | 'mix-and-match'
  | 'wrong-software'
  | 'fast-forward-roots'
  | 'container'
  | 'json';

/** Conditions a case is checked under (defaults: NOW, 64 MiB cap, empty rollback store). */
interface CaseConditions {
  now?: string;
  maxBundleBytes?: number;
  expectedProduct?: string;
  /** The connected board: `checkTarget` runs after verification. */
  board?: TargetQuery;
  /** What the rollback store already holds for the product. */
  recorded?: { securityCounter: number; rootVersion: number };
  /** Counter the board reports: `checkRollback` runs after verification. */
  boardReported?: number;
}

export interface MaliciousCase {
  id: string;
  attack: AttackClass;
  description: string;
  bytes: Uint8Array;
  conditions: CaseConditions;
  expect: BundleReason;
}

// ---------------------------------------------------------------------------------------------
// Raw building blocks (deliberately free of the encoder's own checks)

const MAGIC = Uint8Array.of(0x89, 0x57, 0x46, 0x42, 0x0d, 0x0a, 0x1a, 0x0a);
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

type Rec = [kind: number, name: string | Uint8Array, data: Uint8Array, lengthOverride?: number];

function record([kind, name, data, length]: Rec): Uint8Array {
  const n = typeof name === 'string' ? utf8(name) : name;
  const h = new Uint8Array(2 + n.length + 4);
  h[0] = kind;
  h[1] = n.length;
  h.set(n, 2);
  view(h).setUint32(2 + n.length, length ?? data.length, true);
  return concatBytes(h, data);
}

function container(records: Rec[], head = concatBytes(MAGIC, Uint8Array.of(1))): Uint8Array {
  return concatBytes(head, ...records.map(record));
}

/** Image records for the test images, in manifest order. */
function imageRecords(images = testImages()): Rec[] {
  return [...images].map(([name, data]) => [3, name, data]);
}

/** The manifest content matching `testImages()`, with sizes and hashes. */
function content(over: Partial<ManifestContent> = {}): ManifestContent {
  const images = testImages();
  const im = (name: string, address: number) => ({
    name,
    address,
    size: images.get(name)!.length,
    sha256: toHex(sha256(images.get(name)!)),
  });
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
        images: [im('bootloader', 0), im('app', 0x10000)],
      },
    ],
    ...over,
  };
}

const goodPayloadText = (): string => new TextDecoder().decode(encodeManifestPayload(content()));

/** A manifest envelope over exactly `payload`, signed by `signers` (key seeds). */
function envelope(
  payload: Uint8Array | string,
  signers: readonly number[] = [1, 2],
  type = MANIFEST_PAYLOAD_TYPE,
): Uint8Array {
  let env = {
    payloadType: type,
    payload: typeof payload === 'string' ? utf8(payload) : payload,
    signatures: [],
  };
  for (const s of signers) env = addSignature(env, key(s)) as typeof env;
  return encodeEnvelope(env);
}

/** A whole bundle around a manifest payload (text or content), images as in the manifest. */
function bundle(
  payload: Uint8Array | string = goodPayloadText(),
  signers: readonly number[] = [1, 2],
  extra: { roots?: Rec[]; images?: Rec[] } = {},
): Uint8Array {
  return container([
    ...(extra.roots ?? []),
    [2, '', envelope(payload, signers)],
    ...(extra.images ?? imageRecords()),
  ]);
}

const withContent = (
  over: Partial<ManifestContent>,
  signers: readonly number[] = [1, 2],
): Uint8Array => bundle(encodeManifestPayload(content(over)), signers);

/** Replaces the first occurrence of `from` in the good payload text (fails loudly if absent). */
function editedPayload(from: string, to: string): string {
  const text = goodPayloadText();
  if (!text.includes(from)) throw new Error(`corpus: "${from}" not in the payload`);
  return text.replace(from, to);
}

/** Envelope JSON with each signature's first byte flipped. */
function corruptSignatures(envBytes: Uint8Array): Uint8Array {
  const o = JSON.parse(new TextDecoder().decode(envBytes)) as { signatures: { sig: string }[] };
  for (const s of o.signatures) {
    const raw = Uint8Array.from(atob(s.sig), (c) => c.charCodeAt(0));
    raw[0]! ^= 0xff;
    s.sig = encodeBase64(raw);
  }
  return utf8(JSON.stringify(o));
}

// ---------------------------------------------------------------------------------------------

/** Every case, in a stable order. */
export function maliciousCases(): MaliciousCase[] {
  const images = testImages();
  const app = images.get('app')!;
  const boot = images.get('bootloader')!;
  const good = bundle();
  const root2 = rootBytes({ version: 2, keys: [3, 4, 5], threshold: 2 }, [1, 2, 4, 5]);
  const cases: MaliciousCase[] = [];
  const add = (
    attack: AttackClass,
    id: string,
    description: string,
    bytes: Uint8Array,
    expect: BundleReason,
    conditions: CaseConditions = {},
  ): void => void cases.push({ id, attack, description, bytes, expect, conditions });

  // Arbitrary software: someone without the keys ships their own firmware.
  add(
    'arbitrary-software',
    'unsigned',
    'manifest with no signatures',
    bundle(goodPayloadText(), []),
    'signature.threshold',
  );
  add(
    'arbitrary-software',
    'unknown-keys',
    'signed only by keys the root does not list',
    bundle(goodPayloadText(), [8, 9]),
    'signature.unknown-key',
  );
  add(
    'arbitrary-software',
    'forged-signatures',
    'trusted key ids, signature bytes altered',
    container([[2, '', corruptSignatures(envelope(goodPayloadText()))], ...imageRecords()]),
    'signature.invalid',
  );
  {
    // Signatures over the real payload, then the payload swapped for a higher counter.
    const env = JSON.parse(new TextDecoder().decode(envelope(goodPayloadText()))) as {
      payload: string;
    };
    env.payload = encodeBase64(utf8(editedPayload('"securityCounter":3', '"securityCounter":4')));
    add(
      'arbitrary-software',
      'payload-swapped',
      'payload edited after signing',
      container([[2, '', utf8(JSON.stringify(env))], ...imageRecords()]),
      'signature.invalid',
    );
  }
  {
    // Key 9 signs, but the signature claims to be key 1's and key 2's.
    const env = JSON.parse(new TextDecoder().decode(envelope(goodPayloadText(), [8, 9]))) as {
      signatures: { keyid: string }[];
    };
    const trusted = JSON.parse(new TextDecoder().decode(envelope(goodPayloadText()))) as {
      signatures: { keyid: string }[];
    };
    env.signatures.forEach((s, i) => (s.keyid = trusted.signatures[i]!.keyid));
    add(
      'arbitrary-software',
      'keyid-spoof',
      'untrusted signatures labelled with trusted key ids',
      container([[2, '', utf8(JSON.stringify(env))], ...imageRecords()]),
      'signature.invalid',
    );
  }
  add(
    'arbitrary-software',
    'wrong-payload-type',
    'a manifest signed as a trust root',
    container([[2, '', envelope(goodPayloadText(), [1, 2], ROOT_PAYLOAD_TYPE)], ...imageRecords()]),
    'envelope.payload-type',
  );
  add(
    'arbitrary-software',
    'keys-only-in-bundle',
    'bundle carries a root of its own keys, signed only by them',
    bundle(goodPayloadText(), [7, 8], {
      roots: [[1, '2', rootBytes({ version: 2, keys: [7, 8] }, [7, 8])]],
    }),
    'root.signature',
  );

  // Key compromise below the threshold (2 of 3).
  add(
    'key-compromise-below-threshold',
    'one-key',
    'signed by one trusted key',
    bundle(goodPayloadText(), [1]),
    'signature.threshold',
  );
  {
    const env = JSON.parse(new TextDecoder().decode(envelope(goodPayloadText(), [1]))) as {
      signatures: unknown[];
    };
    env.signatures.push(env.signatures[0]);
    add(
      'key-compromise-below-threshold',
      'same-key-twice',
      'one key’s signature listed twice',
      container([[2, '', utf8(JSON.stringify(env))], ...imageRecords()]),
      'signature.threshold',
    );
  }
  add(
    'key-compromise-below-threshold',
    'one-key-plus-unknown',
    'one trusted key and one unknown key',
    bundle(goodPayloadText(), [1, 9]),
    'signature.threshold',
  );

  // Rollback.
  add(
    'rollback',
    'counter-below-recorded',
    'counter 3 after counter 4 was installed',
    good,
    'rollback.counter',
    { recorded: { securityCounter: 4, rootVersion: 1 } },
  );
  add('rollback', 'counter-below-board', 'the board reports counter 5', good, 'rollback.board', {
    boardReported: 5,
  });
  add(
    'rollback',
    'root-below-recorded',
    'verified with root 1 after root 2 was seen',
    good,
    'root.rollback',
    { recorded: { securityCounter: 0, rootVersion: 2 } },
  );

  // Indefinite freeze: old, once-valid metadata replayed forever.
  add('indefinite-freeze', 'manifest-expired', 'manifest expired a day ago', good, 'expired', {
    now: '2027-06-02T00:00:00Z',
  });
  add(
    'indefinite-freeze',
    'created-in-future',
    'manifest created next year',
    withContent({ created: '2027-01-01T00:00:00Z', expires: '2028-01-01T00:00:00Z' }),
    'not-yet-valid',
  );
  add(
    'indefinite-freeze',
    'root-expired',
    'pinned root expired and no newer root',
    good,
    'root.expired',
    { now: '2030-02-01T00:00:00Z' },
  );
  add(
    'indefinite-freeze',
    'chained-root-expired',
    'the newest carried root has expired',
    bundle(goodPayloadText(), [4, 5], {
      roots: [
        [
          1,
          '2',
          rootBytes(
            { version: 2, keys: [3, 4, 5], threshold: 2, expires: '2026-01-01T00:00:00Z' },
            [1, 2, 4, 5],
          ),
        ],
      ],
    }),
    'root.expired',
  );

  // Endless data.
  add('endless-data', 'over-cap', 'bundle larger than the updater allows', good, 'size.exceeded', {
    maxBundleBytes: 4000,
  });
  add(
    'endless-data',
    'image-longer-than-signed',
    'app record 1 byte longer than signed',
    bundle(goodPayloadText(), [1, 2], {
      images: [
        [3, 'bootloader', boot],
        [3, 'app', concatBytes(app, Uint8Array.of(0))],
      ],
    }),
    'size.exceeded',
  );
  add(
    'endless-data',
    'trailing-data',
    'bytes after the last image',
    concatBytes(good, utf8('more')),
    'container.trailing-data',
  );
  add(
    'endless-data',
    'huge-manifest-length',
    'manifest record claims 16 MiB',
    container([[2, '', utf8('{}'), 16 * 1024 * 1024]]),
    'size.exceeded',
  );
  add(
    'endless-data',
    'huge-image-length',
    'image record claims 4 GiB',
    bundle(goodPayloadText(), [1, 2], {
      images: [
        [3, 'bootloader', boot],
        [3, 'app', app, 0xffff_ffff],
      ],
    }),
    'size.exceeded',
  );

  // Mix and match: signed metadata with images from elsewhere.
  {
    const other = app.slice();
    other.reverse();
    add(
      'mix-and-match',
      'other-release-image',
      'app image of another release, same size',
      bundle(goodPayloadText(), [1, 2], {
        images: [
          [3, 'bootloader', boot],
          [3, 'app', other],
        ],
      }),
      'image.hash-mismatch',
    );
    const flipped = app.slice();
    flipped[1234]! ^= 0x01;
    add(
      'mix-and-match',
      'one-bit-flipped',
      'one bit changed in the app',
      bundle(goodPayloadText(), [1, 2], {
        images: [
          [3, 'bootloader', boot],
          [3, 'app', flipped],
        ],
      }),
      'image.hash-mismatch',
    );
  }
  add(
    'mix-and-match',
    'images-swapped',
    'bootloader bytes under the app name',
    bundle(goodPayloadText(), [1, 2], {
      images: [
        [3, 'bootloader', boot],
        [3, 'app', boot],
      ],
    }),
    'image.size-mismatch',
  );

  // Wrong software: valid, signed, but not for this product or board.
  add(
    'wrong-software',
    'other-product',
    'a signed bundle for another product',
    withContent({ product: 'acme-doorbell' }),
    'product.mismatch',
    { expectedProduct: 'acme-sensor' },
  );
  add(
    'wrong-software',
    'other-chip',
    'an ESP32-S3 bundle on an ESP32-C3',
    good,
    'target.mismatch',
    { board: { chip: 'esp32c3', protocol: 'esp-serial' } },
  );
  add(
    'wrong-software',
    'other-protocol',
    'an ESP serial bundle for a DFU connection',
    good,
    'target.mismatch',
    { board: { chip: 'esp32s3', protocol: 'dfu' } },
  );

  // Fast-forward and forged rotation of roots.
  add(
    'fast-forward-roots',
    'skips-a-version',
    'carries root 3 without root 2',
    bundle(goodPayloadText(), [4, 5], {
      roots: [[1, '3', rootBytes({ version: 3, keys: [3, 4, 5], threshold: 2 }, [1, 2, 4, 5])]],
    }),
    'root.version',
  );
  add(
    'fast-forward-roots',
    'new-keys-only',
    'root 2 signed only by its own keys',
    bundle(goodPayloadText(), [4, 5], {
      roots: [[1, '2', rootBytes({ version: 2, keys: [3, 4, 5], threshold: 2 }, [4, 5])]],
    }),
    'root.signature',
  );
  add(
    'fast-forward-roots',
    'old-keys-only',
    'root 2 signed only by root 1’s keys',
    bundle(goodPayloadText(), [4, 5], {
      roots: [[1, '2', rootBytes({ version: 2, keys: [3, 4, 5], threshold: 2 }, [1, 2])]],
    }),
    'root.signature',
  );
  add(
    'fast-forward-roots',
    'version-jump-in-payload',
    'record says root 2, payload says root 9',
    bundle(goodPayloadText(), [4, 5], {
      roots: [[1, '2', rootBytes({ version: 9, keys: [3, 4, 5], threshold: 2 }, [1, 2, 4, 5])]],
    }),
    'root.version',
  );
  add(
    'fast-forward-roots',
    'non-consecutive-records',
    'root records 2 then 4',
    bundle(goodPayloadText(), [4, 5], {
      roots: [
        [1, '2', root2],
        [1, '4', root2],
      ],
    }),
    'root.version',
  );
  add(
    'fast-forward-roots',
    'old-keys-after-rotation',
    'root 2 carried, manifest signed by retired keys 1 and 2',
    bundle(goodPayloadText(), [1, 2], { roots: [[1, '2', root2]] }),
    'signature.unknown-key',
  );
  add(
    'fast-forward-roots',
    'retired-plus-current-key',
    'root 2 carried, manifest signed by retired key 1 and current key 3',
    bundle(goodPayloadText(), [1, 3], { roots: [[1, '2', root2]] }),
    'signature.threshold',
  );
  add(
    'fast-forward-roots',
    'unsigned-old-root-record',
    'a record of root 1 (the pinned version) holding bytes no key signed',
    bundle(goodPayloadText(), [1, 2], {
      roots: [
        [1, '1', new TextEncoder().encode('{"payloadType":"x","payload":"","signatures":[]}')],
      ],
    }),
    'envelope.payload-type',
  );
  add(
    'fast-forward-roots',
    'foreign-old-root-record',
    'a record of root 1 signed by keys outside the pinned root 1',
    bundle(goodPayloadText(), [1, 2], { roots: [[1, '1', rootBytes({ keys: [7] }, [7])]] }),
    'root.invalid',
  );

  // Container tricks.
  add(
    'container',
    'bad-magic',
    'a zip file',
    concatBytes(utf8('PK\u0003\u0004'), good.subarray(4)),
    'container.malformed',
  );
  add('container', 'empty', 'an empty file', new Uint8Array(0), 'container.malformed');
  add(
    'container',
    'future-format',
    'container format 2',
    concatBytes(MAGIC, Uint8Array.of(2), good.subarray(9)),
    'container.malformed',
  );
  add(
    'container',
    'truncated',
    'cut off in the middle of the app',
    good.subarray(0, good.length - 100),
    'container.truncated',
  );
  add(
    'container',
    'missing-image',
    'the app record is absent',
    bundle(goodPayloadText(), [1, 2], { images: [[3, 'bootloader', boot]] }),
    'container.missing-entry',
  );
  add(
    'container',
    'duplicate-image',
    'the bootloader twice',
    bundle(goodPayloadText(), [1, 2], {
      images: [
        [3, 'bootloader', boot],
        [3, 'bootloader', boot],
        [3, 'app', app],
      ],
    }),
    'container.duplicate-entry',
  );
  add(
    'container',
    'undeclared-image',
    'an extra image the manifest does not list',
    bundle(goodPayloadText(), [1, 2], {
      images: [
        [3, 'bootloader', boot],
        [3, 'extra', boot],
        [3, 'app', app],
      ],
    }),
    'container.undeclared-entry',
  );
  add(
    'container',
    'parent-path',
    'entry named ../app',
    bundle(goodPayloadText(), [1, 2], {
      images: [
        [3, 'bootloader', boot],
        [3, '../app', app],
      ],
    }),
    'container.path',
  );
  add(
    'container',
    'absolute-path',
    'entry named /app',
    bundle(goodPayloadText(), [1, 2], {
      images: [
        [3, 'bootloader', boot],
        [3, '/app', app],
      ],
    }),
    'container.path',
  );
  add(
    'container',
    'nul-in-name',
    'entry named app\\0.bin',
    bundle(goodPayloadText(), [1, 2], {
      images: [
        [3, 'bootloader', boot],
        [3, Uint8Array.of(0x61, 0x70, 0x70, 0, 0x2e, 0x62), app],
      ],
    }),
    'container.path',
  );
  add(
    'container',
    'unknown-record',
    'record kind 9',
    bundle(goodPayloadText(), [1, 2], { images: [[9, 'x', boot], ...imageRecords()] }),
    'container.malformed',
  );
  add(
    'container',
    'image-before-manifest',
    'an image record first',
    container([
      [3, 'app', app],
      [2, '', envelope(goodPayloadText())],
    ]),
    'container.malformed',
  );
  add(
    'container',
    'second-manifest',
    'a second manifest among the images',
    bundle(goodPayloadText(), [1, 2], {
      images: [
        [3, 'bootloader', boot],
        [2, '', envelope(goodPayloadText())],
        [3, 'app', app],
      ],
    }),
    'container.duplicate-entry',
  );

  // JSON tricks inside the signed payload (all correctly signed by keys 1 and 2).
  add(
    'json',
    'duplicate-key',
    'securityCounter twice: 99 then 3',
    editedBundle('"securityCounter":3', '"securityCounter":99,"securityCounter":3'),
    'json.duplicate-key',
  );
  add(
    'json',
    'proto-key',
    'a __proto__ member',
    editedBundle('"notes":', '"__proto__":{"admin":true},"notes":'),
    'json.forbidden-key',
  );
  add(
    'json',
    'big-integer',
    'counter 2^53 + 1',
    editedBundle('"securityCounter":3', '"securityCounter":9007199254740993'),
    'json.number',
  );
  add(
    'json',
    'fraction',
    'counter 3.0',
    editedBundle('"securityCounter":3', '"securityCounter":3.0'),
    'json.number',
  );
  add(
    'json',
    'unknown-field',
    'an unknown installScript field',
    editedBundle('"notes":', '"installScript":"rm -rf /","notes":'),
    'json.schema',
  );
  add(
    'json',
    'wrong-type',
    'counter as a string',
    editedBundle('"securityCounter":3', '"securityCounter":"3"'),
    'json.schema',
  );
  add(
    'json',
    'missing-field',
    'no product field',
    editedBundle('"product":"acme-sensor",', ''),
    'json.schema',
  );
  add(
    'json',
    'bad-semver',
    'version 1.4',
    editedBundle('"version":"1.4.2"', '"version":"1.4"'),
    'json.schema',
  );
  add(
    'json',
    'trailing-comma',
    'a comma before the closing brace',
    bundle(goodPayloadText().replace(/}$/, ',}')),
    'json.malformed',
  );
  add(
    'json',
    'bom',
    'a UTF-8 byte order mark',
    bundle(concatBytes(Uint8Array.of(0xef, 0xbb, 0xbf), utf8(goodPayloadText()))),
    'json.malformed',
  );
  add(
    'json',
    'invalid-utf8',
    'a stray 0xff byte in the notes',
    bundle(concatBytes(utf8(goodPayloadText().slice(0, -2)), Uint8Array.of(0xff), utf8('"}'))),
    'json.malformed',
  );
  add(
    'json',
    'lone-surrogate',
    'notes with \\ud800 alone',
    editedBundle('"notes":"', '"notes":"\\ud800'),
    'json.malformed',
  );
  add(
    'json',
    'too-deep',
    'an unknown field nested 100 deep',
    editedBundle('"notes":', `"x":${'['.repeat(100)}${']'.repeat(100)},"notes":`),
    'json.limits',
  );
  {
    // Two "payload" members: a lenient reader might verify one and use the other.
    const env = new TextDecoder().decode(envelope(goodPayloadText()));
    const evil = encodeBase64(utf8(editedPayload('"securityCounter":3', '"securityCounter":4')));
    const doubled = env.replace('"signatures":', `"payload":"${evil}","signatures":`);
    add(
      'json',
      'envelope-duplicate-payload',
      'envelope with two payload members',
      container([[2, '', utf8(doubled)], ...imageRecords()]),
      'json.duplicate-key',
    );
    const padded = env.replace(/"payload":"([^"]*)"/, '"payload":"$1\\n"');
    add(
      'json',
      'envelope-noncanonical-base64',
      'payload base64 with a line break',
      container([[2, '', utf8(padded)], ...imageRecords()]),
      'json.schema',
    );
  }
  add(
    'json',
    'overlapping-images',
    'app placed over the bootloader',
    editedBundle('"address":65536', '"address":1024'),
    'manifest.invalid',
  );
  return cases;

  function editedBundle(from: string, to: string): Uint8Array {
    return bundle(editedPayload(from, to));
  }
}

/**
 * The verification options a case is checked under: its clock, size cap, expected product and a
 * rollback store holding what the case says was recorded.
 */
export async function caseVerifyOptions(
  c: MaliciousCase,
  trustRoot: TrustRoot,
): Promise<VerifyOptions> {
  const store = new MemoryRollbackStore();
  if (c.conditions.recorded)
    await store.put('acme-sensor', { ...c.conditions.recorded, version: '9.9.9' });
  return {
    trustRoot,
    now: c.conditions.now ? new Date(c.conditions.now) : NOW,
    rollbackStore: store,
    ...(c.conditions.maxBundleBytes === undefined
      ? {}
      : { maxBundleBytes: c.conditions.maxBundleBytes }),
    ...(c.conditions.expectedProduct === undefined
      ? {}
      : { expectedProduct: c.conditions.expectedProduct }),
  };
}

/** The checks the app runs once a board is connected: target, then the board's own counter. */
export function checkCaseBoard(c: MaliciousCase, verified: VerifiedBundle): void {
  if (c.conditions.board) checkTarget(verified, c.conditions.board);
  if (c.conditions.boardReported !== undefined) {
    checkRollback({
      manifest: verified.manifest,
      boardReported: c.conditions.boardReported,
      mode: 'customer',
    });
  }
}

/**
 * Applies the app's checks to a case and returns the reason it was rejected with, or
 * `undefined` when it was (wrongly) accepted.
 */
export async function runCase(
  c: MaliciousCase,
  trustRoot: TrustRoot,
): Promise<BundleReason | undefined> {
  try {
    checkCaseBoard(c, await verifyBundle(c.bytes, await caseVerifyOptions(c, trustRoot)));
    return undefined;
  } catch (err) {
    if (err instanceof BundleError) return err.reason;
    throw err;
  }
}
