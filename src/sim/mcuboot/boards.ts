/**
 * Simulated nRF52840 boards with MCUboot for the registry (../boards.ts):
 *
 * - `nrf52840-mcuboot`: a Zephyr application with MCUmgr (SMP) over USB CDC ACM, MCUboot swap
 *   using move with revert of an unconfirmed test image;
 * - `nrf52840-recovery`: the same board held in MCUboot serial recovery (the button pressed at
 *   reset), MCUboot's own CDC ACM port.
 *
 * Flash: 1 MiB in 4 KiB pages; nRF52840 Product Specification, "NVMC electrical
 * specification": tWRITE 41 µs per 32-bit word and tERASEPAGE 85 ms per page (maximum values,
 * which the model uses; the specification gives no typical ones). USB ids: Zephyr's default
 * CDC ACM identity 2fe3:0100 (CONFIG_USB_DEVICE_VID/PID).
 *
 * The boards trust the simulator's own ed25519 key (its secret key below, so the demo can sign
 * images) and the test keys of test/fixtures/mcuboot (ed25519.pem, ecdsa-p256.pem). They start with an image 1.0.0 signed by the
 * simulator's key in the primary slot, unless `images` are given.
 */
import { fromHex } from '../../core/bytes.ts';
import { publicKeyOf } from '../../bundle/ed25519.ts';
import type { BoardOptions, BoardPreset, SimBoard } from '../board.ts';
import { FlashModel, type FlashTiming } from '../flash-model.ts';
import { LINK_USB_CDC, SerialWire } from '../serial-wire.ts';
import { McubootSimBoard, type McubootBoardOptions } from './board.ts';
import { buildMcubootImage, type TrustedKey } from './image-tools.ts';
import { NRF52840_SLOTS, type SlotPair } from './slots.ts';

/** nRF52840 NVMC timing (see above). */
const NRF52840_TIMING: FlashTiming = {
  sectorEraseMs: () => 85,
  programMs: (bytes) => Math.ceil(bytes / 4) * 0.041,
  chipEraseMs: (size) => (size / 4096) * 85,
};

/** The simulator's own MCUboot signing key (public test material, never a product key). */
export const SIM_MCUBOOT_SECRET_KEY = fromHex(
  '6d63756230306b2d776562666c6173682d73696d756c61746f722d6b65792d31',
);

/** Keys every preset trusts. */
const SIM_MCUBOOT_KEYS: readonly TrustedKey[] = [
  { kind: 'ed25519', publicKey: publicKeyOf(SIM_MCUBOOT_SECRET_KEY) },
  {
    kind: 'ed25519',
    publicKey: fromHex('d70949a7661dfa85eae87efef46a3aad6ae82f26242d16a0ffcfaae3414b223e'),
  },
  {
    kind: 'ecdsa-p256',
    spki: fromHex(
      '3059301306072a8648ce3d020106082a8648ce3d0301070342000483b7d4f3e0e64be140f2a22174e43177' +
        'dcd173fc0964b698d34ceb819194630ef3e9fe03cfc53f7e89b11344c1312875c2f58fada242325ffd2a1c' +
        'a892e3adba',
    ),
  },
];

/** Two images (application and a second core) on the same 1 MiB: for multi-image tests. */
export const NRF52840_TWO_IMAGES: readonly SlotPair[] = [
  { primary: { address: 0xc000, size: 0x60000 }, secondary: { address: 0x6c000, size: 0x60000 } },
  { primary: { address: 0xcc000, size: 0x14000 }, secondary: { address: 0xe0000, size: 0x14000 } },
];

/** The factory image: version 1.0.0, a few KiB, signed with the simulator's key. */
export function factoryImage(): Uint8Array {
  const body = new Uint8Array(4096);
  for (let i = 0; i < body.length; i++) body[i] = (i * 31 + 7) & 0xff;
  return buildMcubootImage({
    version: { major: 1, minor: 0, revision: 0, build: 0 },
    body,
    secretKey: SIM_MCUBOOT_SECRET_KEY,
  });
}

export interface McubootBoardHandle extends SimBoard {
  device: McubootSimBoard;
  wire: SerialWire;
}

export interface CreateMcubootOptions extends BoardOptions {
  recovery?: boolean;
  /** Board options to override (keys, selfConfirm, bufSize, pairs…). */
  board?: Partial<Omit<McubootBoardOptions, 'flash'>>;
}

/** Builds an nRF52840 MCUboot board. */
export function createMcubootBoard(o: CreateMcubootOptions): McubootBoardHandle {
  const flash = new FlashModel({ size: 0x100000, sectorSize: 4096, timing: NRF52840_TIMING });
  const pairs = o.board?.pairs ?? [NRF52840_SLOTS];
  if (o.images && o.images.length > 0) for (const im of o.images) flash.load(im.address, im.data);
  else flash.load(pairs[0]!.primary.address, factoryImage());
  const recovery = o.recovery ?? false;
  const device = new McubootSimBoard({
    keys: SIM_MCUBOOT_KEYS,
    serialRecovery: recovery,
    recoveryButton: recovery,
    ...o.board,
    flash,
    pairs,
  });
  const label = recovery ? 'nRF52840 DK (MCUboot serial recovery)' : 'nRF52840 DK (Zephyr, MCUmgr)';
  const wire = new SerialWire({
    clock: o.clock,
    device,
    link: o.link ?? LINK_USB_CDC,
    usbVendorId: 0x2fe3,
    usbProductId: 0x0100,
    label: `Simulated ${label}`,
    seed: o.seed ?? 1,
    ...(o.unplugged ? { unplugged: true } : {}),
  });
  return {
    name: recovery ? 'nrf52840-recovery' : 'nrf52840-mcuboot',
    label,
    protocol: 'mcuboot-smp',
    chip: 'nrf52840',
    flash,
    wire,
    device,
    ...(recovery ? { enterBootloader: () => device.enterRecovery() } : {}),
  };
}

export const MCUBOOT_BOARD_PRESETS: readonly BoardPreset[] = [
  {
    name: 'nrf52840-mcuboot',
    description:
      'nRF52840 DK: Zephyr app with MCUmgr over USB CDC ACM 2fe3:0100, MCUboot swap with revert',
    protocol: 'mcuboot-smp',
    chip: 'nrf52840',
    create: (o) => createMcubootBoard(o),
  },
  {
    name: 'nrf52840-recovery',
    description: 'nRF52840 DK in MCUboot serial recovery over USB CDC ACM 2fe3:0100',
    protocol: 'mcuboot-smp',
    chip: 'nrf52840',
    create: (o) => createMcubootBoard({ ...o, recovery: true }),
  },
];
