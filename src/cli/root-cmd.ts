/** `webflash root …`: create, sign and check trust roots (docs/publishing.md, "Trust root"). */
import { addSignature, encodeEnvelope, parseEnvelope, ROOT_PAYLOAD_TYPE } from '../bundle/dsse.ts';
import {
  createRootEnvelope,
  loadTrustRoot,
  MAX_ROOT_BYTES,
  rotateTrustRoot,
  type TrustRoot,
} from '../bundle/trust-root.ts';
import { BundleError, reject } from '../bundle/errors.ts';
import { parseDateOption } from './dates.ts';
import { readBytes, resolveIn, withNewline, writeBytes } from './files.ts';
import { CliUsageError, type Command, EXIT, group, parse, required } from './io.ts';
import { readPublicKey, readSecretKey } from './keyfile.ts';
import { errorMessage } from '../core/errors.ts';

const createCommand: Command = {
  name: 'create',
  summary: 'write a new, unsigned trust root',
  help: `webflash root create --key A.pub [--key B.pub …] --threshold N --expires DATE --out root.json
                     [--previous OLD.json | --version N]

Writes a trust root listing the given public keys, of which N must sign every release.
The file is unsigned; each key holder then runs 'webflash root sign'.

Rotation: with --previous OLD.json the new root gets OLD's version + 1. It becomes valid
only when a threshold of OLD's keys AND a threshold of its own keys have signed it.

Options:
  --key FILE.pub   a public key to trust (repeat for each key)
  --threshold N    signatures required (1 … number of keys)
  --expires DATE   e.g. 2027-01-01 (UTC); updaters refuse an expired root
  --max-years N    refuse an expiry more than N years from now (default 10; updaters
                   refuse roots valid for more than 10 years from their own clock)
  --previous FILE  the root this one replaces
  --version N      the root version (default 1, or OLD + 1 with --previous)
  --out FILE       where to write the root (required)`,
  run: async (args, io) => {
    const { values } = parse(args, {
      key: { type: 'string', multiple: true },
      threshold: { type: 'string' },
      expires: { type: 'string' },
      'max-years': { type: 'string' },
      previous: { type: 'string' },
      version: { type: 'string' },
      out: { type: 'string' },
    });
    const keyFiles = values.key ?? [];
    if (keyFiles.length === 0) throw new CliUsageError('at least one --key FILE.pub is required');
    const keys = await Promise.all(keyFiles.map((f) => readPublicKey(resolveIn(io, f))));
    const threshold = positiveInt(required(values.threshold, '--threshold'), '--threshold');
    const expires = parseDateOption(required(values.expires, '--expires'), '--expires');
    const maxYears =
      values['max-years'] === undefined ? 10 : positiveInt(values['max-years'], '--max-years');
    const maxDays = Math.round(maxYears * 365.25);
    if (Date.parse(expires) - Date.now() > maxDays * 86_400_000) {
      throw reject('root.invalid', `--expires ${expires} is more than ${maxYears} years from now`);
    }
    let version = values.version === undefined ? 1 : positiveInt(values.version, '--version');
    if (values.previous !== undefined) {
      const previous = loadTrustRoot(await readBytes(io, values.previous));
      if (values.version !== undefined && version !== previous.version + 1) {
        throw new CliUsageError(
          `--version must be ${previous.version + 1} after root ${previous.version}`,
        );
      }
      version = previous.version + 1;
    }
    let envelope;
    try {
      envelope = createRootEnvelope({
        version,
        expires,
        threshold,
        publicKeys: keys.map((k) => k.publicKey),
      });
    } catch (err) {
      if (err instanceof BundleError) throw err; // root.invalid: a duplicate or unusable key
      throw new CliUsageError(errorMessage(err));
    }
    const out = required(values.out, '--out');
    await writeBytes(io, out, withNewline(encodeEnvelope(envelope)));
    io.out(
      `Wrote root version ${version} (${threshold} of ${keys.length} keys, expires ${expires}) to ${out}\n`,
    );
    io.out(`Now sign it: webflash root sign ${out} --key YOUR.key\n`);
    return EXIT.ok;
  },
};

const signCommand: Command = {
  name: 'sign',
  summary: 'add your signature to a trust root',
  help: `webflash root sign ROOT.json --key A.key [--out FILE]

Adds one signature to ROOT.json (in place unless --out is given). For a new root, every key
holder it lists signs; for a rotation, key holders of the previous root sign too.`,
  run: async (args, io) => {
    const { values, positionals } = parse(
      args,
      { key: { type: 'string' }, out: { type: 'string' } },
      true,
    );
    const file = onePositional(positionals, 'ROOT.json');
    const secret = await readSecretKey(resolveIn(io, required(values.key, '--key')));
    const envelope = parseEnvelope(await readBytes(io, file), MAX_ROOT_BYTES);
    if (envelope.payloadType !== ROOT_PAYLOAD_TYPE)
      throw new CliUsageError(`${file} is not a trust root`);
    let signed;
    try {
      signed = addSignature(envelope, secret);
    } catch (err) {
      throw new CliUsageError(errorMessage(err));
    }
    const out = values.out ?? file;
    await writeBytes(io, out, withNewline(encodeEnvelope(signed)));
    io.out(`Signed ${out} (${signed.signatures.length} signature(s))\n`);
    return EXIT.ok;
  },
};

const verifyCommand: Command = {
  name: 'verify',
  summary: 'check that a trust root is complete (and follows the previous one)',
  help: `webflash root verify ROOT.json [--previous OLD.json] [--json]

Checks that a threshold of ROOT's own keys signed it and, with --previous, that it is a valid
rotation: version OLD + 1, signed by a threshold of OLD's keys as well. Exit 0 when valid,
1 with a reason code otherwise.`,
  run: async (args, io) => {
    const { values, positionals } = parse(
      args,
      { previous: { type: 'string' }, json: { type: 'boolean' } },
      true,
    );
    const file = onePositional(positionals, 'ROOT.json');
    const bytes = await readBytes(io, file);
    let root: TrustRoot;
    if (values.previous !== undefined) {
      const previous = loadTrustRoot(await readBytes(io, values.previous));
      root = rotateTrustRoot(previous, bytes);
    } else {
      root = loadTrustRoot(bytes);
    }
    if (values.json) {
      const { version, expires, threshold, keys } = root;
      io.out(
        JSON.stringify({ ok: true, version, expires, threshold, keys: keys.map((k) => k.keyid) }) +
          '\n',
      );
    } else {
      io.out(
        `Root version ${root.version}: valid; ${root.threshold} of ${root.keys.length} keys; expires ${root.expires}\n` +
          root.keys.map((k) => `  key ${k.keyid}\n`).join(''),
      );
    }
    return EXIT.ok;
  },
};

/** `webflash root create|sign|verify`. */
export const rootCommand: Command = group('root', 'Create, sign and check trust roots.', [
  createCommand,
  signCommand,
  verifyCommand,
]);

function positiveInt(text: string, flag: string): number {
  if (!/^[1-9]\d{0,8}$/.test(text))
    throw new CliUsageError(`${flag} must be a positive whole number`);
  return Number(text);
}

/** The single positional argument a command takes. */
export function onePositional(positionals: string[], what: string): string {
  if (positionals.length !== 1) throw new CliUsageError(`expected one ${what}`);
  return positionals[0]!;
}
