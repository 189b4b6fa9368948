/**
 * Working out which chip answers and reading its identity: chip type (GET_SECURITY_INFO chip id,
 * else CHIP_DETECT_MAGIC_REG, as esptool `ESPLoader.connect` does), factory MAC and revision from
 * efuses, and the flash chip's JEDEC id through the SPI registers (loader.py
 * `run_spiflash_command`).
 */
import { ProtocolError, WebflashError } from '../../core/errors.ts';
import type { EspChip } from './chips.ts';
import { chipByMagic, chipBySecurityInfoId, composeFields } from './chips.ts';
import { SPIFLASH_RDID, SpiUserCommand } from './constants.ts';
import type { EspLoader, SecurityInfo } from './loader.ts';

export interface DetectedChip {
  chip: EspChip;
  /** How it was recognised. */
  method: 'security-info' | 'magic';
  securityInfo?: SecurityInfo;
  magic?: number;
}

/**
 * Identifies the chip and sets `loader.chip`.
 * @throws {ProtocolError} 'protocol.wrong-chip' for an unknown chip id or magic value.
 */
export async function detectChip(loader: EspLoader, signal?: AbortSignal): Promise<DetectedChip> {
  let securityInfo: SecurityInfo | undefined;
  try {
    securityInfo = await loader.getSecurityInfo(signal);
  } catch (err) {
    // ESP8266 and ESP32 ROMs do not know the command (loader.py connect: falls back to magic).
    if (!(err instanceof WebflashError) || err.code === 'aborted' || err.code === 'timeout') {
      throw err;
    }
  }
  if (securityInfo?.chipId !== undefined) {
    const chip = chipBySecurityInfoId(securityInfo.chipId);
    if (!chip) {
      throw new ProtocolError(
        'protocol.wrong-chip',
        `This board reports chip id ${securityInfo.chipId}, which webflash does not support`,
        { hints: ['Check that the bundle is meant for this board.'] },
      );
    }
    loader.chip = chip;
    return { chip, method: 'security-info', securityInfo };
  }
  const magic = await loader.readChipMagic(signal);
  const chip = chipByMagic(magic);
  if (!chip) {
    throw new ProtocolError(
      'protocol.wrong-chip',
      `Unknown ESP chip (magic value 0x${magic.toString(16).padStart(8, '0')})`,
      { hints: ['Check that the bundle is meant for this board.'] },
    );
  }
  loader.chip = chip;
  return securityInfo
    ? { chip, method: 'magic', magic, securityInfo }
    : { chip, method: 'magic', magic };
}

/** Formats six bytes as "aa:bb:cc:dd:ee:ff". */
function formatMac(bytes: readonly number[]): string {
  return bytes.map((b) => (b & 0xff).toString(16).padStart(2, '0')).join(':');
}

/**
 * Reads the factory MAC from efuse/OTP as esptool's `read_mac` does for the chip.
 * @throws {ProtocolError} 'protocol.bad-reply' for an ESP8266 with an unknown OUI.
 */
export async function readMac(
  loader: EspLoader,
  chip: EspChip,
  signal?: AbortSignal,
): Promise<string> {
  const mac = chip.mac;
  switch (mac.kind) {
    case 'esp8266-otp': {
      const mac0 = await loader.readReg(mac.mac0, signal);
      const mac1 = await loader.readReg(mac.mac1, signal);
      const mac3 = await loader.readReg(mac.mac3, signal);
      let oui: number[];
      if (mac3 !== 0) oui = [(mac3 >>> 16) & 0xff, (mac3 >>> 8) & 0xff, mac3 & 0xff];
      else if (((mac1 >>> 16) & 0xff) === 0) oui = [0x18, 0xfe, 0x34];
      else if (((mac1 >>> 16) & 0xff) === 1) oui = [0xac, 0xd0, 0x74];
      else throw new ProtocolError('protocol.bad-reply', 'Unknown OUI in the ESP8266 MAC efuses');
      return formatMac([...oui, (mac1 >>> 8) & 0xff, mac1 & 0xff, (mac0 >>> 24) & 0xff]);
    }
    case 'esp32-blk0': {
      const w2 = await loader.readReg(mac.word2, signal);
      const w1 = await loader.readReg(mac.word1, signal);
      return formatMac(beBytes(w2, w1).slice(2));
    }
    case 'mac-efuse': {
      const mac0 = await loader.readReg(mac.reg, signal);
      const mac1 = await loader.readReg(mac.reg + 4, signal);
      return formatMac(beBytes(mac1, mac0).slice(2));
    }
  }
}

/** Two words packed big-endian (struct ">II"). */
function beBytes(a: number, b: number): number[] {
  return [
    a >>> 24,
    (a >>> 16) & 0xff,
    (a >>> 8) & 0xff,
    a & 0xff,
    b >>> 24,
    (b >>> 16) & 0xff,
    (b >>> 8) & 0xff,
    b & 0xff,
  ];
}

/** "v0.2"-style revision read from the efuse fields listed for the chip; undefined when unknown. */
export async function readRevision(
  loader: EspLoader,
  chip: EspChip,
  signal?: AbortSignal,
): Promise<string | undefined> {
  const fields = chip.revision;
  if (!fields) return undefined;
  const addrs = [...new Set([...fields.major, ...fields.minor].map((f) => f.addr))];
  const values = new Map<number, number>();
  for (const a of addrs) values.set(a, await loader.readReg(a, signal));
  const read = (a: number): number => values.get(a) ?? 0;
  const eco0 = fields.eco0;
  if (eco0 && composeFields([eco0.minorLow], read) === 0) {
    const more = [eco0.blockMajor.addr, eco0.blockMinor.addr].filter((a) => !values.has(a));
    for (const a of more) values.set(a, await loader.readReg(a, signal));
    if (
      composeFields([eco0.blockMajor], read) === 1 &&
      composeFields([eco0.blockMinor], read) === 1
    ) {
      return 'v0.0';
    }
  }
  const rawMajor = composeFields(fields.major, read);
  const major = fields.majorMap ? (fields.majorMap[rawMajor] ?? 0) : rawMajor;
  const minor = composeFields(fields.minor, read);
  return `v${major}.${minor}`;
}

/**
 * Reads the flash chip's JEDEC id (RDID 0x9F, 24 bits) by driving the SPI peripheral's "user
 * command" registers, as esptool's `flash_id` does with the ROM loader. Returns the id as
 * `manufacturer | memoryType << 8 | capacity << 16`.
 * @throws {ProtocolError} when the SPI command does not complete.
 */
export async function readFlashId(
  loader: EspLoader,
  chip: EspChip,
  signal?: AbortSignal,
): Promise<number> {
  const spi = chip.spi;
  const base = spi.base;
  const usr = base + spi.usrOffs;
  const usr1 = base + spi.usr1Offs;
  const usr2 = base + spi.usr2Offs;
  const w0 = base + spi.w0Offs;
  const cmd = base + SpiUserCommand.SPI_CMD_OFFS;
  const readBits = 24;

  const oldUsr = await loader.readReg(usr, signal);
  const oldUsr2 = await loader.readReg(usr2, signal);
  if (spi.misoDlenOffs !== undefined) {
    await loader.writeReg(base + spi.misoDlenOffs, readBits - 1, { signal });
  } else {
    // ESP8266: MISO bit length lives in USR1 bits 8.. (SPI_MISO_BITLEN_S = 8).
    await loader.writeReg(usr1, (readBits - 1) << 8, { signal });
  }
  await loader.writeReg(usr, (SpiUserCommand.SPI_USR_COMMAND | SpiUserCommand.SPI_USR_MISO) >>> 0, {
    signal,
  });
  await loader.writeReg(
    usr2,
    ((7 << SpiUserCommand.SPI_USR2_COMMAND_LEN_SHIFT) | SPIFLASH_RDID) >>> 0,
    {
      signal,
    },
  );
  await loader.writeReg(w0, 0, { signal });
  await loader.writeReg(cmd, SpiUserCommand.SPI_CMD_USR, { signal });
  let done = false;
  for (let i = 0; i < 10 && !done; i++) {
    done = ((await loader.readReg(cmd, signal)) & SpiUserCommand.SPI_CMD_USR) === 0;
  }
  if (!done) {
    throw new ProtocolError('protocol.command-failed', 'The SPI flash id command did not complete');
  }
  const id = await loader.readReg(w0, signal);
  await loader.writeReg(usr, oldUsr, { signal });
  await loader.writeReg(usr2, oldUsr2, { signal });
  return id & 0xffffff;
}

const KiB = 1024;
const MiB = 1024 * 1024;

/** JEDEC capacity byte → flash size (esptool cmds.py `DETECTED_FLASH_SIZES`). */
const DETECTED_FLASH_SIZES: Readonly<Record<number, number>> = {
  0x12: 256 * KiB,
  0x13: 512 * KiB,
  0x14: 1 * MiB,
  0x15: 2 * MiB,
  0x16: 4 * MiB,
  0x17: 8 * MiB,
  0x18: 16 * MiB,
  0x19: 32 * MiB,
  0x1a: 64 * MiB,
  0x1b: 128 * MiB,
  0x1c: 256 * MiB,
  0x20: 64 * MiB,
  0x21: 128 * MiB,
  0x22: 256 * MiB,
  0x32: 256 * KiB,
  0x33: 512 * KiB,
  0x34: 1 * MiB,
  0x35: 2 * MiB,
  0x36: 4 * MiB,
  0x37: 8 * MiB,
  0x38: 16 * MiB,
  0x39: 32 * MiB,
  0x3a: 64 * MiB,
};

/** Flash size from a JEDEC id (capacity in bits 16..23); undefined when not in the table. */
export function flashSizeFromId(id: number): number | undefined {
  return DETECTED_FLASH_SIZES[(id >>> 16) & 0xff];
}
