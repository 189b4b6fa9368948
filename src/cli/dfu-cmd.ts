/**
 * `webflash dfu pack` and `webflash dfu inspect`: write DfuSe files (ST UM0391) that
 * dfu-util and STM32CubeProgrammer accept, and show what a firmware file holds.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { encodeDfuseFile, type DfuseElement } from '../formats/dfuse-file.ts';
import { loadFirmwareFile } from '../formats/firmware-file.ts';
import { CliUsageError, type Command, EXIT, group, parse, required } from './io.ts';
import { ST_DFU_BOOTLOADER } from '../protocols/dfu/dfuse-chips.ts';

function hexNumber(text: string | undefined, flag: string, fallback: number, max = 0xffff): number {
  if (text === undefined) return fallback;
  const v = Number(text.startsWith('0x') ? text : `0x${text}`);
  if (!Number.isInteger(v) || v < 0 || v > max)
    throw new CliUsageError(`${flag} must be a hex number up to 0x${max.toString(16)}`);
  return v;
}

const packCommand: Command = {
  name: 'pack',
  summary: 'write a DfuSe .dfu file from .bin and .hex images',
  help: `webflash dfu pack --out FILE.dfu [options] IMAGE[@ADDRESS]...

Packs images into one DfuSe file (one target, alternate setting --alt). A .bin image needs
its flash address after "@" (e.g. app.bin@0x08004000); Intel HEX images carry their own.

Options:
  --out FILE     the DfuSe file to write (required; never overwritten)
  --vid HEX      USB vendor id in the suffix (default 0483)
  --pid HEX      USB product id in the suffix (default df11)
  --device HEX   bcdDevice in the suffix (default ffff: any)
  --alt N        alternate setting of the target (default 0: internal flash)
  --name TEXT    target name (default "ST...")`,
  run: async (args, io) => {
    const { values, positionals } = parse(
      args,
      {
        out: { type: 'string' },
        vid: { type: 'string' },
        pid: { type: 'string' },
        device: { type: 'string' },
        alt: { type: 'string' },
        name: { type: 'string' },
      },
      true,
    );
    const out = resolve(io.cwd, required(values.out, '--out'));
    if (positionals.length === 0) throw new CliUsageError('give at least one IMAGE');
    const elements: DfuseElement[] = [];
    for (const spec of positionals) {
      const at = spec.lastIndexOf('@');
      const path = at > 0 ? spec.slice(0, at) : spec;
      const address =
        at > 0 ? hexNumber(spec.slice(at + 1), `${spec}: address`, 0, 0xffffffff) : undefined;
      const bytes = new Uint8Array(await readFile(resolve(io.cwd, path)));
      const file = loadFirmwareFile(bytes, {
        name: path,
        ...(address !== undefined ? { address } : {}),
      });
      for (const image of file.images) {
        if (image.address === undefined)
          throw new CliUsageError(`${path}: give its address, e.g. ${path}@0x08000000`);
        elements.push({ address: image.address, data: image.data });
      }
    }
    const alt = Number(values.alt ?? '0');
    if (!Number.isInteger(alt) || alt < 0 || alt > 255)
      throw new CliUsageError('--alt must be 0..255');
    const dfu = encodeDfuseFile({
      idVendor: hexNumber(values.vid, '--vid', ST_DFU_BOOTLOADER.vendorId),
      idProduct: hexNumber(values.pid, '--pid', ST_DFU_BOOTLOADER.productId),
      bcdDevice: hexNumber(values.device, '--device', 0xffff),
      targets: [{ alternateSetting: alt, name: values.name ?? 'ST...', elements }],
    });
    await writeFile(out, dfu, { flag: 'wx' });
    io.out(`Wrote ${out}: ${elements.length} element(s), ${dfu.length} bytes\n`);
    return EXIT.ok;
  },
};

const inspectDfuCommand: Command = {
  name: 'inspect',
  summary: 'show the images in a .dfu, DFU-suffixed, .hex or .bin file',
  help: `webflash dfu inspect FILE [--json]

Prints the kind of firmware file, its DFU suffix and every image with its address and size.`,
  run: async (args, io) => {
    const { values, positionals } = parse(args, { json: { type: 'boolean' } }, true);
    const path = positionals[0];
    if (path === undefined) throw new CliUsageError('give a FILE');
    const file = loadFirmwareFile(new Uint8Array(await readFile(resolve(io.cwd, path))), {
      name: path,
    });
    const images = file.images.map((i) => ({
      ...(i.address !== undefined
        ? { address: `0x${i.address.toString(16).padStart(8, '0')}` }
        : {}),
      size: i.data.length,
      ...(i.alternateSetting !== undefined ? { alternateSetting: i.alternateSetting } : {}),
      ...(i.targetName !== undefined ? { targetName: i.targetName } : {}),
    }));
    if (values.json) {
      io.out(
        JSON.stringify({ kind: file.kind, suffix: file.suffix, prefix: file.prefix, images }) +
          '\n',
      );
    } else {
      io.out(`${path}: ${file.kind}\n`);
      if (file.suffix) {
        const s = file.suffix;
        io.out(
          `suffix: vendor ${s.idVendor.toString(16).padStart(4, '0')} product ${s.idProduct.toString(16).padStart(4, '0')} device ${s.bcdDevice.toString(16).padStart(4, '0')} bcdDFU ${s.bcdDFU.toString(16).padStart(4, '0')}\n`,
        );
      }
      for (const i of images)
        io.out(
          `  ${i.address ?? '(no address)'}  ${i.size} bytes${i.alternateSetting !== undefined ? `  alt ${i.alternateSetting}` : ''}\n`,
        );
    }
    return EXIT.ok;
  },
};

/** The `webflash dfu` command group. */
export const dfuCommand: Command = group('dfu', 'make and inspect DFU/DfuSe firmware files', [
  packCommand,
  inspectDfuCommand,
]);
