/** `webflash bundle …`: build a bundle from a manifest and image files, and sign it. */
import { basename, dirname, resolve } from 'node:path';
import { readArray, readObject } from '../bundle/_schema.ts';
import { BundleError, rejectAs } from '../bundle/errors.ts';
import { createBundle, signBundle, type ManifestDraft } from '../bundle/create.ts';
import { parseStrictJson, type JsonObject } from '../bundle/strict-json.ts';
import { loadTrustRoot } from '../bundle/trust-root.ts';
import { nowText } from './dates.ts';
import { readBytes, resolveIn, writeBytes } from './files.ts';
import { CliUsageError, type Command, EXIT, group, parse, required } from './io.ts';
import { expandHexImages } from './hex-images.ts';
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

An image file ending in .hex is Intel HEX: its addresses come from the file (give no
"address"); each contiguous segment becomes one image (NAME, or NAME.1, NAME.2… when the file
has gaps), so gaps are never filled.

M.json (paths relative to M.json; "created" defaults to now, "notes" to no text; a target
that writes the ESP bootloader region, below 0x8000, must list "bootloader" in "writes"):
  { "product": "acme-sensor", "version": "1.4.2", "securityCounter": 3,
    "expires": "2027-01-01T00:00:00Z", "notes": "Fixes the sleep current.",
    "targets": [ { "chip": "esp32s3", "protocol": "esp-serial", "writes": ["app"],
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
    const inputName = basename(manifestPath);
    const input = await readBytes(io, manifestPath);
    const read = inInputFile(inputName, () => readManifestFile(input));
    const raw = new Map<string, Uint8Array>();
    for (const [name, file] of read.files)
      raw.set(name, await readBytes(io, resolve(dirname(manifestPath), file)));
    const { draft, images } = withHexImages(read.draft, read.files, raw);
    checkMcubootImages(draft, images);
    const signers = await Promise.all(
      (values.key ?? []).map((k) => readSecretKey(resolveIn(io, k))),
    );
    const roots = await Promise.all(
      (values.root ?? []).map(async (r) => loadTrustRoot(await readBytes(io, r))),
    );
    let bytes: Uint8Array;
    try {
      bytes = inInputFile(inputName, () =>
        createBundle({ manifest: draft, images, signers, roots }),
      );
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

/** Replaces Intel HEX images by one image per segment (hex-images.ts). */
function withHexImages(
  draft: ManifestDraft,
  files: ReadonlyMap<string, string>,
  raw: ReadonlyMap<string, Uint8Array>,
): { draft: ManifestDraft; images: Map<string, Uint8Array> } {
  const entryFor = (name: string): Record<string, unknown> & { name: string } => {
    for (const t of draft.targets)
      for (const im of t.images) if (im.name === name) return { ...im };
    return { name };
  };
  const { images, entries } = expandHexImages(files, raw, entryFor);
  if (entries.size === 0) return { draft, images };
  const targets = draft.targets.map((t) => ({
    ...t,
    images: t.images.flatMap((im) => (entries.get(im.name) ?? [im]) as (typeof t.images)[number][]),
  }));
  return { draft: { ...draft, targets }, images };
}

/**
 * Runs `f`, which reads the publisher's input file `name`; a schema fault of one of its fields is
 * reported as `release.json: field "notes" must be a string`, not as a fault of a signed manifest.
 */
function inInputFile<T>(name: string, f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (!(err instanceof BundleError) || err.field === undefined) throw err;
    const problem = (err.detail ?? '').slice(err.field.length).trim();
    const where = err.field === '' ? '' : ` field "${err.field}"`;
    throw rejectAs(err.reason, `${name}:${where} ${problem}`, undefined, err);
  }
}

/** A text field of the input file that is not text. */
function textFault(field: string): BundleError {
  return new BundleError('json.schema', `${field} must be a string`, { field });
}

/**
 * Reads the publisher's manifest file: the manifest fields plus a `file` per image. Field names
 * are checked here; types and values are checked by the manifest schema when the bundle is built.
 * `notes` is optional here (default: no text); the signed manifest always has it.
 */
function readManifestFile(bytes: Uint8Array): { draft: ManifestDraft; files: Map<string, string> } {
  const top = readObject(parseStrictJson(bytes), '', {
    required: ['product', 'version', 'securityCounter', 'expires', 'targets'],
    optional: ['created', 'notes'],
  });
  const files = new Map<string, string>();
  const targets = readArray(top, 'targets', '', 1, 32).map((t, i) => {
    const target = readObject(t, `targets[${i}]`, {
      required: ['chip', 'protocol', 'images'],
      optional: ['board', 'usb', 'confirm'],
    });
    const images = readArray(target, 'images', `targets[${i}]`, 1, 32).map((im, j) => {
      const at = `targets[${i}].images[${j}]`;
      const o = readObject(im, at, { required: ['name', 'file'], optional: ['address', 'slot'] });
      const { file, ...rest } = o;
      const name = rest['name'];
      if (typeof name !== 'string') throw textFault(`${at}.name`);
      if (typeof file !== 'string') throw textFault(`${at}.file`);
      const earlier = files.get(name);
      if (earlier !== undefined && earlier !== file)
        throw new CliUsageError(`image "${name}" names two files`);
      files.set(name, file);
      return rest;
    });
    return { ...target, images };
  });
  const draft: JsonObject = {
    ...top,
    created: top['created'] ?? nowText(),
    notes: top['notes'] ?? '',
    targets,
  };
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
