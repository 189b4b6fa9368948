/** DSSE encoding and signature tallying; trust roots, rotation and expiry. */
import { describe, expect, it } from 'vitest';
import {
  addSignature,
  encodeEnvelope,
  pae,
  parseEnvelope,
  tallySignatures,
} from '../../src/bundle/dsse.ts';
import { keyIdOf, publicKeyOf } from '../../src/bundle/ed25519.ts';
import { BundleError, type BundleReason } from '../../src/bundle/errors.ts';
import {
  checkRootExpiry,
  createRootEnvelope,
  loadTrustRoot,
  resolveRootChain,
  rotateTrustRoot,
} from '../../src/bundle/trust-root.ts';
import { key, pinnedTestRoot, rootBytes, rotatedRoot } from './fixtures.ts';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

function reasonOf(f: () => unknown): BundleReason | undefined {
  try {
    f();
    return undefined;
  } catch (err) {
    if (err instanceof BundleError) return err.reason;
    throw err;
  }
}

describe('DSSE', () => {
  it('PAE matches the example in DSSE protocol.md', () => {
    // secure-systems-lab/dsse protocol.md, "Signature definition" example.
    expect(dec(pae('http://example.com/HelloWorld', enc('hello world')))).toBe(
      'DSSEv1 29 http://example.com/HelloWorld 11 hello world',
    );
  });

  it('PAE counts bytes, not characters', () => {
    expect(dec(pae('t', enc('é')))).toBe('DSSEv1 1 t 2 é');
  });

  it('envelopes round-trip and signatures verify against the named keys only', () => {
    const env = {
      payloadType: 'application/x-test',
      payload: enc('{"x":1}'),
      signatures: [] as never[],
    };
    const signed = addSignature(addSignature(env, key(1)), key(2));
    const again = parseEnvelope(encodeEnvelope(signed), 1024);
    expect(again).toEqual(signed);
    const keys = new Map([[keyIdOf(publicKeyOf(key(1))), publicKeyOf(key(1))]]);
    const tally = tallySignatures(again, keys);
    expect([...tally.valid]).toEqual([keyIdOf(publicKeyOf(key(1)))]);
    expect(tally.unknown).toBe(1);
    expect(() => addSignature(signed, key(1))).toThrow(RangeError);
  });

  it('a signature over another payload type does not count', () => {
    const signed = addSignature({ payloadType: 'a', payload: enc('x'), signatures: [] }, key(1));
    const swapped = { ...signed, payloadType: 'b' };
    const keys = new Map([[keyIdOf(publicKeyOf(key(1))), publicKeyOf(key(1))]]);
    expect(tallySignatures(swapped, keys)).toMatchObject({ invalid: 1 });
  });

  it.each([
    ['extra member', '{"payloadType":"t","payload":"","signatures":[],"x":1}', 'json.schema'],
    ['missing signatures', '{"payloadType":"t","payload":""}', 'json.schema'],
    [
      'signature extra member',
      `{"payloadType":"t","payload":"","signatures":[{"keyid":"${'a'.repeat(64)}","sig":"","x":1}]}`,
      'json.schema',
    ],
    [
      'short sig',
      `{"payloadType":"t","payload":"","signatures":[{"keyid":"${'a'.repeat(64)}","sig":"AAAA"}]}`,
      'json.schema',
    ],
    [
      'upper-case keyid',
      `{"payloadType":"t","payload":"","signatures":[{"keyid":"${'A'.repeat(64)}","sig":"AAAA"}]}`,
      'json.schema',
    ],
    ['url-safe payload', '{"payloadType":"t","payload":"-_-_","signatures":[]}', 'json.schema'],
    ['not an object', '[]', 'json.schema'],
  ])('refuses an envelope with %s', (_, text, reason) => {
    expect(reasonOf(() => parseEnvelope(enc(text), 4096))).toBe(reason);
  });
});

describe('trust roots', () => {
  it('loads a root signed by a threshold of its own keys', () => {
    const root = pinnedTestRoot();
    expect(root).toMatchObject({ version: 1, threshold: 2, expires: '2030-01-01T00:00:00Z' });
    expect(root.keys.map((k) => k.keyid)).toEqual(
      [1, 2, 3].map((n) => keyIdOf(publicKeyOf(key(n)))),
    );
    expect(Object.isFrozen(root)).toBe(true);
  });

  it.each([
    [
      'below threshold',
      () => loadTrustRoot(rootBytes({ keys: [1, 2, 3], threshold: 2 }, [1])),
      'root.signature',
    ],
    [
      'signed by a stranger',
      () => loadTrustRoot(rootBytes({ keys: [1], threshold: 1 }, [9])),
      'root.signature',
    ],
    ['one key signing twice', () => loadTrustRoot(twiceSigned()), 'root.signature'],
    [
      'wrong key id',
      () => loadTrustRoot(withPayloadEdit((p) => p.replace(/"keyid":"[0-9a-f]/, '"keyid":"f'))),
      'root.invalid',
    ],
    [
      'threshold above keys',
      () => loadTrustRoot(withPayloadEdit((p) => p.replace('"threshold":1', '"threshold":2'))),
      'root.invalid',
    ],
    [
      'threshold 0',
      () => loadTrustRoot(withPayloadEdit((p) => p.replace('"threshold":1', '"threshold":0'))),
      'root.invalid',
    ],
    [
      'unknown field',
      () => loadTrustRoot(withPayloadEdit((p) => p.replace('"threshold"', '"x":1,"threshold"'))),
      'root.invalid',
    ],
    [
      'other key type',
      () => loadTrustRoot(withPayloadEdit((p) => p.replace('"ed25519"', '"rsa"'))),
      'root.invalid',
    ],
    [
      'manifest payload type',
      () => loadTrustRoot(withType('application/vnd.webflash.manifest+json')),
      'envelope.payload-type',
    ],
    ['garbage', () => loadTrustRoot('not json'), 'root.invalid'],
  ])('refuses a root: %s', (_, f, reason) => {
    expect(reasonOf(f)).toBe(reason);
  });

  it('rotation needs a threshold of the old keys and of the new keys, and version N+1', () => {
    const r1 = pinnedTestRoot();
    expect(
      rotateTrustRoot(r1, rootBytes({ version: 2, keys: [3, 4, 5], threshold: 2 }, [1, 2, 4, 5]))
        .version,
    ).toBe(2);
    // Key 3 is in both roots: it counts once toward each threshold.
    expect(
      rotateTrustRoot(r1, rootBytes({ version: 2, keys: [3, 4, 5], threshold: 2 }, [1, 3, 4]))
        .version,
    ).toBe(2);
    expect(
      reasonOf(() =>
        rotateTrustRoot(r1, rootBytes({ version: 2, keys: [3, 4, 5], threshold: 2 }, [1, 4, 5])),
      ),
    ).toBe('root.signature');
    expect(
      reasonOf(() =>
        rotateTrustRoot(r1, rootBytes({ version: 2, keys: [3, 4, 5], threshold: 2 }, [1, 2, 4])),
      ),
    ).toBe('root.signature');
    expect(
      reasonOf(() =>
        rotateTrustRoot(r1, rootBytes({ version: 3, keys: [3, 4, 5], threshold: 2 }, [1, 2, 4, 5])),
      ),
    ).toBe('root.version');
    expect(
      reasonOf(() =>
        rotateTrustRoot(r1, rootBytes({ version: 1, keys: [3, 4, 5], threshold: 2 }, [1, 2, 4, 5])),
      ),
    ).toBe('root.version');
  });

  it('a chain verifies the roots the app already has and walks the rest', () => {
    const r1 = pinnedTestRoot();
    const r2 = rotatedRoot();
    const r3 = rootBytes({ version: 3, keys: [6], threshold: 1 }, [4, 5, 6]);
    const chain = [
      { version: 1, envelope: r1.envelope },
      { version: 2, envelope: r2.envelope },
      { version: 3, envelope: r3 },
    ];
    expect(resolveRootChain(r1, chain).version).toBe(3);
    expect(resolveRootChain(r2, chain).version).toBe(3);
    expect(resolveRootChain(r1, []).version).toBe(1);
    expect(reasonOf(() => resolveRootChain(r1, chain.slice(2)))).toBe('root.version');
  });

  it('refuses unverifiable records of roots the app already has', () => {
    const r1 = pinnedTestRoot();
    const r2 = rotatedRoot();
    const r3 = rootBytes({ version: 3, keys: [6], threshold: 1 }, [4, 5, 6]);
    const withFirst = (envelope: Uint8Array) => [
      { version: 1, envelope },
      { version: 2, envelope: r2.envelope },
      { version: 3, envelope: r3 },
    ];
    // Unsigned bytes where root 1 should be.
    expect(reasonOf(() => resolveRootChain(r2, withFirst(enc('not a root'))))).toBe('root.invalid');
    // A root 1 with other keys, which did not sign root 2.
    const other1 = rootBytes({ keys: [7] }, [7]);
    expect(reasonOf(() => resolveRootChain(r2, withFirst(other1)))).toBe('root.signature');
    // Root 1 alone, for an app that pins root 2: it leads nowhere.
    expect(reasonOf(() => resolveRootChain(r2, [{ version: 1, envelope: r1.envelope }]))).toBe(
      'root.version',
    );
    // The pinned version itself, with other content.
    expect(reasonOf(() => resolveRootChain(r1, [{ version: 1, envelope: other1 }]))).toBe(
      'root.invalid',
    );
    // The same root 1, signed in another order, is the pinned one.
    const resigned = rootBytes({ keys: [1, 2, 3], threshold: 2 }, [3, 2]);
    expect(resolveRootChain(r1, [{ version: 1, envelope: resigned }]).version).toBe(1);
  });

  it('expiry allows the given clock skew and no more', () => {
    const root = pinnedTestRoot();
    const at = Date.parse('2030-01-01T00:00:00Z');
    expect(() => checkRootExpiry(root, at, 0)).not.toThrow();
    expect(reasonOf(() => checkRootExpiry(root, at + 1, 0))).toBe('root.expired');
    expect(() => checkRootExpiry(root, at + 60_000, 60_000)).not.toThrow();
    expect(reasonOf(() => checkRootExpiry(root, at + 60_001, 60_000))).toBe('root.expired');
  });

  it('the writer refuses what the reader would refuse', () => {
    const pk = publicKeyOf(key(1));
    expect(() =>
      createRootEnvelope({
        version: 1,
        expires: '2030-01-01T00:00:00Z',
        threshold: 2,
        publicKeys: [pk],
      }),
    ).toThrow(RangeError);
    expect(() =>
      createRootEnvelope({
        version: 1,
        expires: '2030-01-01T00:00:00Z',
        threshold: 1,
        publicKeys: [pk, pk],
      }),
    ).toThrow(/duplicate/);
    expect(() =>
      createRootEnvelope({ version: 1, expires: 'tomorrow', threshold: 1, publicKeys: [pk] }),
    ).toThrow(RangeError);
  });
});

function twiceSigned(): Uint8Array {
  const o = JSON.parse(dec(rootBytes({ keys: [1, 2], threshold: 2 }, [1]))) as {
    signatures: unknown[];
  };
  o.signatures.push(o.signatures[0]);
  return enc(JSON.stringify(o));
}

/** A one-key root whose payload text was edited, then correctly signed by key 1. */
function withPayloadEdit(edit: (payload: string) => string): Uint8Array {
  const env = createRootEnvelope({
    version: 1,
    expires: '2030-01-01T00:00:00Z',
    threshold: 1,
    publicKeys: [publicKeyOf(key(1))],
  });
  return encodeEnvelope(addSignature({ ...env, payload: enc(edit(dec(env.payload))) }, key(1)));
}

function withType(payloadType: string): Uint8Array {
  const env = createRootEnvelope({
    version: 1,
    expires: '2030-01-01T00:00:00Z',
    threshold: 1,
    publicKeys: [publicKeyOf(key(1))],
  });
  return encodeEnvelope(addSignature({ ...env, payloadType }, key(1)));
}
