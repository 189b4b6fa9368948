/**
 * Key files written by `webflash keygen` (docs/publishing.md, "Keys"):
 *
 *   NAME.key  {"type":"webflash-ed25519-secret-key","keyid":"…","secret":"<64 hex>"}  mode 0600
 *   NAME.pub  {"type":"webflash-ed25519-public-key","keyid":"…","public":"<64 hex>"}
 *
 * The secret file never leaves the signer's machine; only `.pub` files go into trust roots.
 */
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { readObject, readString, hexPattern } from '../bundle/_schema.ts';
import { keyIdOf, newSecretKey, publicKeyOf } from '../bundle/ed25519.ts';
import { parseStrictJson } from '../bundle/strict-json.ts';
import { fromHex, toHex } from '../core/bytes.ts';
import { CliUsageError } from './io.ts';
import { errorMessage } from '../core/errors.ts';

const SECRET_TYPE = 'webflash-ed25519-secret-key';
const PUBLIC_TYPE = 'webflash-ed25519-public-key';

/** A loaded key: id and raw bytes. */
export interface LoadedKey {
  keyid: string;
  publicKey: Uint8Array;
}

/**
 * Creates `base.key` (mode 0600, refusing to overwrite) and `base.pub`.
 * @returns the new key's id.
 */
export async function writeKeyPair(base: string, seed?: Uint8Array): Promise<LoadedKey> {
  const secret = newSecretKey(seed);
  const publicKey = publicKeyOf(secret);
  const keyid = keyIdOf(publicKey);
  await mkdir(dirname(base), { recursive: true });
  const secretText = JSON.stringify({ type: SECRET_TYPE, keyid, secret: toHex(secret) }) + '\n';
  // 'wx' fails if the file exists: a key is never silently replaced.
  await writeFile(`${base}.key`, secretText, { mode: 0o600, flag: 'wx' });
  await chmod(`${base}.key`, 0o600); // in case a umask widened it
  await writeFile(
    `${base}.pub`,
    JSON.stringify({ type: PUBLIC_TYPE, keyid, public: toHex(publicKey) }) + '\n',
    {
      flag: 'wx',
    },
  );
  return { keyid, publicKey };
}

async function readKeyJson(path: string): Promise<ReturnType<typeof readObject>> {
  let text: Uint8Array;
  try {
    text = await readFile(path);
  } catch (err) {
    throw new CliUsageError(`cannot read key file ${path}: ${errorMessage(err)}`);
  }
  return readObject(parseStrictJson(text, { maxBytes: 4096 }), path, {
    required: ['type', 'keyid'],
    optional: ['public', 'secret'],
  });
}

/** Reads a `.key` file and returns the 32-byte secret key. */
export async function readSecretKey(path: string): Promise<Uint8Array> {
  const o = await readKeyJson(path);
  if (o['type'] !== SECRET_TYPE)
    throw new CliUsageError(`${path} is not a webflash secret key (.key) file`);
  const secret = fromHex(
    readString(o, 'secret', path, { pattern: hexPattern(32), what: '64 hex digits' }),
  );
  if (keyIdOf(publicKeyOf(secret)) !== o['keyid'])
    throw new CliUsageError(`${path}: keyid does not match the key`);
  return secret;
}

/** Reads a `.pub` file (a `.key` file is refused, so secrets never end up in a root). */
export async function readPublicKey(path: string): Promise<LoadedKey> {
  const o = await readKeyJson(path);
  if (o['type'] === SECRET_TYPE)
    throw new CliUsageError(`${path} is a secret key; pass the .pub file`);
  if (o['type'] !== PUBLIC_TYPE)
    throw new CliUsageError(`${path} is not a webflash public key (.pub) file`);
  const publicKey = fromHex(
    readString(o, 'public', path, { pattern: hexPattern(32), what: '64 hex digits' }),
  );
  const keyid = keyIdOf(publicKey);
  if (keyid !== o['keyid']) throw new CliUsageError(`${path}: keyid does not match the key`);
  return { keyid, publicKey };
}
