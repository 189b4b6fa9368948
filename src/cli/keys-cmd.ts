/** `webflash keygen`: a new ed25519 signing key pair. */
import { resolve } from 'node:path';
import { type Command, EXIT, parse, required } from './io.ts';
import { writeKeyPair } from './keyfile.ts';

export const keygenCommand: Command = {
  name: 'keygen',
  summary: 'create a signing key pair (NAME.key, private; NAME.pub, public)',
  help: `webflash keygen --out DIR/NAME [--json]

Creates an ed25519 key pair for signing releases or trust roots:
  DIR/NAME.key  the secret key, readable only by you (mode 0600). Keep it offline;
                it never goes into the web app or a bundle.
  DIR/NAME.pub  the public key, to list in a trust root (webflash root create --key).
Existing files are never overwritten.

Options:
  --out DIR/NAME  where to write the two files (required)
  --json          print {"keyid", "secretKey", "publicKey"} instead of text`,
  run: async (args, io) => {
    const { values } = parse(args, { out: { type: 'string' }, json: { type: 'boolean' } });
    const base = resolve(io.cwd, required(values.out, '--out'));
    const key = await writeKeyPair(base);
    if (values.json) {
      io.out(
        JSON.stringify({ keyid: key.keyid, secretKey: `${base}.key`, publicKey: `${base}.pub` }) +
          '\n',
      );
    } else {
      io.out(`Created ${base}.key (secret, mode 0600) and ${base}.pub\nKey id: ${key.keyid}\n`);
    }
    return EXIT.ok;
  },
};
