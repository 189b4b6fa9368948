/** `webflash verify` and `webflash inspect`: check a bundle the way the web app does, or show it. */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { readBundleUnverified } from '../bundle/create.ts';
import { BundleError } from '../bundle/errors.ts';
import { parseManifest, PROTOCOL_IDS, type Manifest, type ProtocolId } from '../bundle/manifest.ts';
import { MemoryRollbackStore } from '../bundle/rollback-store.ts';
import { checkTarget, type TargetQuery } from '../bundle/target.ts';
import { loadTrustRoot } from '../bundle/trust-root.ts';
import { DEFAULT_MAX_BUNDLE_BYTES, verifyBundle, type VerifiedBundle } from '../bundle/verify.ts';
import { verifyRelease } from '../job/verify-release.ts';
import { parseDateOption } from './dates.ts';
import { readBytes, resolveIn } from './files.ts';
import { CliUsageError, type Command, EXIT, parse, required } from './io.ts';
import { onePositional } from './root-cmd.ts';

export const verifyCommand: Command = {
  name: 'verify',
  summary: 'verify a bundle against a trust root, as the web app does',
  help: `webflash verify X.fwb --root ROOT.json [--board CHIP[/PROTOCOL]] [--product ID] [--now DATE] [--json]

Runs the same verification as the web app: container structure, trust-root chain, signature
threshold, manifest schema, expiry, image sizes and SHA-256. Exit 0 when the bundle is valid;
otherwise exit 1 and print the reason code (e.g. signature.threshold, expired).

Options:
  --root FILE        the trust root the updater pins (required)
  --board CHIP[/P]   also require a target for this chip (and protocol), e.g. esp32s3/esp-serial
  --product ID       also require this product id
  --now DATE         check expiry at this time instead of now
  --max-bytes N      refuse bundles larger than N bytes (default ${DEFAULT_MAX_BUNDLE_BYTES})
  --seen-root N      an updater that has already seen trust root N (refuses older roots)
  --json             print one JSON object: {"ok":true,…} or {"ok":false,"reason":…}`,
  run: async (args, io) => {
    const { values, positionals } = parse(
      args,
      {
        root: { type: 'string' },
        board: { type: 'string' },
        product: { type: 'string' },
        now: { type: 'string' },
        'max-bytes': { type: 'string' },
        'seen-root': { type: 'string' },
        json: { type: 'boolean' },
      },
      true,
    );
    const file = resolveIn(io, onePositional(positionals, 'bundle file'));
    const rootPath = required(values.root, '--root');
    const now =
      values.now === undefined ? new Date() : new Date(parseDateOption(values.now, '--now'));
    const maxBundleBytes =
      values['max-bytes'] === undefined ? DEFAULT_MAX_BUNDLE_BYTES : Number(values['max-bytes']);
    if (!Number.isSafeInteger(maxBundleBytes) || maxBundleBytes <= 0)
      throw new CliUsageError('--max-bytes must be a positive number');
    // The customer updater's policy against a fresh store, as on a first visit (or one that
    // has seen root N): the same verifyRelease every face of the web app runs.
    const rollbackStore = new MemoryRollbackStore();
    if (values['seen-root'] !== undefined) {
      const seen = Number(values['seen-root']);
      if (!Number.isSafeInteger(seen) || seen < 1)
        throw new CliUsageError('--seen-root must be a root version (1, 2, …)');
      await rollbackStore.putRootVersion(seen);
    }
    const query = values.board === undefined ? undefined : boardQuery(values.board);
    await stat(file); // a missing file is an I/O failure, not a rejected bundle
    try {
      const trustRoot = loadTrustRoot(await readBytes(io, rootPath));
      const verified = await verifyRelease({
        verify: verifyBundle,
        source: createReadStream(file, { highWaterMark: 64 * 1024 }),
        trustRoot,
        now,
        maxBundleBytes,
        rollbackStore,
        mode: 'customer',
        expectedProduct: values.product,
      });
      const target = query ? checkTarget(verified, query).target : undefined;
      const m = verified.manifest;
      if (values.json) {
        io.out(
          JSON.stringify({
            ok: true,
            ...summary(m),
            rootVersion: verified.root.version,
            bundleBytes: verified.bundleBytes,
            images: verified.images,
            ...(target ? { target: { chip: target.chip, protocol: target.protocol } } : {}),
          }) + '\n',
        );
      } else {
        io.out(
          `OK: ${m.product} ${m.version} (security counter ${m.securityCounter}), verified with root ${verified.root.version}\n`,
        );
        for (const im of verified.images)
          io.out(`  ${im.name}  ${im.size} bytes  sha256 ${im.sha256}\n`);
        if (target) io.out(`  target: ${target.chip}/${target.protocol}\n`);
      }
      return EXIT.ok;
    } catch (err) {
      if (!(err instanceof BundleError) || !values.json) throw err;
      io.out(
        JSON.stringify({
          ok: false,
          code: err.code,
          reason: err.reason,
          message: err.message,
          hints: err.hints,
        }) + '\n',
      );
      return EXIT.rejected;
    }
  },
};

export const inspectCommand: Command = {
  name: 'inspect',
  summary: 'show what a bundle contains, and with --root what of it was verified',
  help: `webflash inspect X.fwb [--root ROOT.json [--now DATE]] [--json]

Shows the manifest, signatures, carried trust roots and images of a bundle.

Without --root nothing is verified, and the output says so: the signatures and roots are only
what the file claims. With --root the bundle is verified first, exactly as 'webflash verify'
does (exit 1 with the reason code if it is refused), and the output reports what was verified:
the trust root used, the keys whose signatures counted, every carried root (each one checked),
and each image's SHA-256.`,
  run: async (args, io) => {
    const { values, positionals } = parse(
      args,
      { root: { type: 'string' }, now: { type: 'string' }, json: { type: 'boolean' } },
      true,
    );
    const file = resolveIn(io, onePositional(positionals, 'bundle file'));
    const bytes = await readBytes(io, file);
    const parts = await readBundleUnverified(bytes);
    const manifest = parseManifest(parts.envelope.payload);
    const claimed = parts.envelope.signatures.map((s) => s.keyid);
    let verified: VerifiedBundle | undefined;
    if (values.root !== undefined) {
      const now =
        values.now === undefined ? new Date() : new Date(parseDateOption(values.now, '--now'));
      verified = await verifyRelease({
        verify: verifyBundle,
        source: bytes,
        trustRoot: loadTrustRoot(await readBytes(io, values.root)),
        now,
        rollbackStore: new MemoryRollbackStore(),
        mode: 'customer',
      });
    } else if (values.now !== undefined) throw new CliUsageError('--now needs --root');
    const uncounted = verified ? claimed.filter((k) => !verified.signers.includes(k)) : [];
    const info = {
      verified: verified !== undefined,
      ...summary(manifest),
      created: manifest.created,
      expires: manifest.expires,
      notes: manifest.notes,
      targets: manifest.targets,
      signatures: claimed,
      roots: parts.roots.map((r) => r.version),
      ...(verified
        ? {
            rootVersion: verified.root.version,
            signers: verified.signers,
            uncounted,
            images: verified.images,
          }
        : { images: parts.images.map((im) => ({ name: im.name, size: im.data.length })) }),
    };
    if (values.json) {
      io.out(JSON.stringify(info) + '\n');
      return EXIT.ok;
    }
    const short = (k: string): string => k.slice(0, 16);
    const lines = [
      `${manifest.product} ${manifest.version}  ${verified ? `(VERIFIED with root ${verified.root.version})` : "(NOT VERIFIED; use 'webflash verify' or --root)"}`,
      `  security counter ${manifest.securityCounter}; created ${manifest.created}; expires ${manifest.expires}`,
      ...manifest.targets.flatMap((t) => [
        `  target ${t.chip}/${t.protocol}${t.board ? ` board ${t.board}` : ''}${t.writes ? `, writes ${t.writes.join(', ')}` : ''}`,
        ...t.images.map(
          (im) =>
            `    ${im.name} at ${im.address !== undefined ? `0x${im.address.toString(16)}` : `slot ${im.slot}`}, ${im.size} bytes`,
        ),
      ]),
      ...(verified
        ? [
            `  signed by: ${verified.signers.map(short).join(', ')} (${verified.signers.length} of ${verified.root.threshold} required)`,
            ...(uncounted.length
              ? [`  signatures that did not count: ${uncounted.map(short).join(', ')}`]
              : []),
            ...(info.roots.length
              ? [`  carries trust roots (all checked): ${info.roots.join(', ')}`]
              : []),
            ...verified.images.map((im) => `  ${im.name}: sha256 ${im.sha256} (checked)`),
          ]
        : [
            `  signatures (not checked): ${claimed.length === 0 ? 'none' : claimed.map(short).join(', ')}`,
            ...(info.roots.length
              ? [`  carries trust roots (not checked): ${info.roots.join(', ')}`]
              : []),
          ]),
      ...(manifest.notes ? ['', manifest.notes] : []),
    ];
    io.out(lines.join('\n') + '\n');
    return EXIT.ok;
  },
};

function summary(m: Manifest): { product: string; version: string; securityCounter: number } {
  return { product: m.product, version: m.version, securityCounter: m.securityCounter };
}

function boardQuery(text: string): TargetQuery {
  const [chip, protocol, extra] = text.split('/');
  if (!chip || extra !== undefined)
    throw new CliUsageError('--board must be CHIP or CHIP/PROTOCOL');
  if (protocol === undefined) return { chip };
  if (!(PROTOCOL_IDS as readonly string[]).includes(protocol)) {
    throw new CliUsageError(`--board protocol must be one of ${PROTOCOL_IDS.join(', ')}`);
  }
  return { chip, protocol: protocol as ProtocolId };
}
