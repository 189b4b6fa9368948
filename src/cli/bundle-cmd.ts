/** `webflash bundle …`: build a bundle from a manifest and image files, and sign it. */
import { dirname, resolve } from 'node:path';
import { readArray, readObject } from '../bundle/_schema.ts';
import { createBundle, signBundle, type ManifestDraft } from '../bundle/create.ts';
import { parseStrictJson, type JsonObject } from '../bundle/strict-json.ts';
import { loadTrustRoot } from '../bundle/trust-root.ts';
import { nowText } from './dates.ts';
import { readBytes, resolveIn, writeBytes } from './files.ts';
import { CliUsageError, type Command, EXIT, group, parse, required } from './io.ts';
import { readSecretKey } from './keyfile.ts';
import { McubootImageError, parseMcubootImage } from '../protocols/mcuboot/image.ts';
import { onePositional } from './root-cmd.ts';

const createCommand: Command = {
  name: 'create',
  summary: 'build a bundle from a manifest file and its images',
  help: `webflash bundle create --manifest M.json --out X.fwb [--key A.key …] [--root ROOT.json …]

Builds a bundle: reads every image file M.json lists, fills in sizes and SHA-256, and writes
the signed manifest and the images into one .fwb file. Without --key the bundle is unsigned;
signers add their signatures with 'webflash bundle sign'.

M.json (paths relative to M.json; "created" defaults to now):
  { "product": "acme-sensor", "version": "1.4.2", "securityCounter": 3,
    "expires": "2027-01-01T00:00:00Z", "notes": "Fixes the sleep current.",
    "targets": [ { "chip": "esp32s3", "protocol": "esp-serial",
                   "images": [ { "name": "app", "address": 65536, "file": "build/app.bin" } ] } ] }

Options:
  --manifest FILE  the manifest to build from (required)
  --out FILE       the bundle to write (required)
  --key FILE.key   sign with this key (repeat for several)
  --root FILE      carry this newer trust root (repeat, oldest first) after a key rotation`,
  run: async (args, io) => {
    const { values } = parse(args, {
      manifest: { type: 'string' },
      out: { type: 'string' },
      key: { type: 'string', multiple: true },
      root: { type: 'string', multiple: true },
    });
    const manifestPath = resolveIn(io, required(values.manifest, '--manifest'));
    const { draft, files } = readManifestFile(await readBytes(io, manifestPath), manifestPath);
    const images = new Map<string, Uint8Array>();
    for (const [name, file] of files)
      images.set(name, await readBytes(io, resolve(dirname(manifestPath), file)));
    checkMcubootImages(draft, images);
    const signers = await Promise.all(
      (values.key ?? []).map((k) => readSecretKey(resolveIn(io, k))),
    );
    const roots = await Promise.all(
      (values.root ?? []).map(async (r) => loadTrustRoot(await readBytes(io, r))),
    );
    let bytes: Uint8Array;
    try {
      bytes = createBundle({ manifest: draft, images, signers, roots });
    } catch (err) {
      if (err instanceof RangeError) throw new CliUsageError(err.message);
      throw err;
    }
    const out = required(values.out, '--out');
    await writeBytes(io, out, bytes);
    io.out(
      `Wrote ${out}: ${draft.product} ${draft.version}, ${images.size} image(s), ${bytes.length} bytes, ` +
        `${signers.length} signature(s)\n`,
    );
    return EXIT.ok;
  },
};

const signCommand: Command = {
  name: 'sign',
  summary: 'add your signature to a bundle',
  help: `webflash bundle sign X.fwb --key A.key [--out Y.fwb]

Adds one signature to the bundle's manifest (in place unless --out is given). Images are not
changed. Each release key holder signs on their own machine until the trust root's threshold
is reached; check with 'webflash verify'.`,
  run: async (args, io) => {
    const { values, positionals } = parse(
      args,
      { key: { type: 'string' }, out: { type: 'string' } },
      true,
    );
    const file = onePositional(positionals, 'bundle file');
    const secret = await readSecretKey(resolveIn(io, required(values.key, '--key')));
    let signed: Uint8Array;
    try {
      signed = await signBundle(await readBytes(io, file), secret);
    } catch (err) {
      if (err instanceof RangeError) throw new CliUsageError(err.message);
      throw err;
    }
    const out = values.out ?? file;
    await writeBytes(io, out, signed);
    io.out(`Signed ${out}\n`);
    return EXIT.ok;
  },
};

/** `webflash bundle create|sign`. */
export const bundleCommand: Command = group('bundle', 'Build and sign release bundles.', [
  createCommand,
  signCommand,
]);

/**
 * Reads the publisher's manifest file: the manifest fields plus a `file` per image. Field names
 * are checked here; types and values are checked by the manifest schema when the bundle is built.
 */
function readManifestFile(
  bytes: Uint8Array,
  path: string,
): { draft: ManifestDraft; files: Map<string, string> } {
  const top = readObject(parseStrictJson(bytes), path, {
    required: ['product', 'version', 'securityCounter', 'expires', 'targets', 'notes'],
    optional: ['created'],
  });
  const files = new Map<string, string>();
  const targets = readArray(top, 'targets', path, 1, 32).map((t, i) => {
    const target = readObject(t, `${path} targets[${i}]`, {
      required: ['chip', 'protocol', 'images'],
      optional: ['board', 'usb', 'confirm'],
    });
    const images = readArray(target, 'images', `targets[${i}]`, 1, 32).map((im, j) => {
      const at = `targets[${i}].images[${j}]`;
      const o = readObject(im, at, { required: ['name', 'file'], optional: ['address', 'slot'] });
      const { file, ...rest } = o;
      if (typeof file !== 'string' || typeof rest['name'] !== 'string')
        throw new CliUsageError(`${at}: name and file must be text`);
      const earlier = files.get(rest['name']);
      if (earlier !== undefined && earlier !== file)
        throw new CliUsageError(`image "${rest['name']}" names two files`);
      files.set(rest['name'], file);
      return rest;
    });
    return { ...target, images };
  });
  const draft: JsonObject = { ...top, created: top['created'] ?? nowText(), targets };
  return { draft: draft as unknown as ManifestDraft, files };
}

/**
 * Images of 'mcuboot-smp' targets must be MCUboot images (imgtool's signed output): refused here
 * as the updater would refuse them, before anything is signed.
 */
function checkMcubootImages(draft: ManifestDraft, images: ReadonlyMap<string, Uint8Array>): void {
  for (const t of draft.targets) {
    if (t.protocol !== 'mcuboot-smp') continue;
    for (const im of t.images) {
      const bytes = images.get(im.name);
      if (!bytes) continue;
      try {
        parseMcubootImage(bytes);
      } catch (err) {
        if (err instanceof McubootImageError)
          throw new CliUsageError(`image "${im.name}": ${err.message}`);
        throw err;
      }
    }
  }
}
