/**
 * Builds the demo bundle that demo mode, the e2e tests and the benchmarks load:
 * public/demo/demo.fwb, signed with the public demo key (demo/keys/), so only a demo build
 * trusts it.
 *
 * The images are real ESP-IDF builds from test/fixtures/firmware (espressif/esptool test images):
 * the ESP32-S2 "blink" app, the ESP32 and ESP32-C3 second-stage bootloaders and a single-app
 * partition table. For chips without a real build among them, the blink app is re-targeted
 * (image chip id, checksum and appended SHA-256 rewritten): such images are for simulated
 * boards only.
 *
 * The STM32 and USB DFU targets (an STM32F4 over its USART bootloader and over DfuSe 0483:df11,
 * and a generic DFU 1.1 gadget, 1209:0001 and 1209:0002 in DFU mode) have no real build in
 * test/fixtures/firmware. They carry a clearly named stand-in: the first 16 KiB of the nRF52 test firmware `nrf-foo.hex`
 * (NordicSemiconductor/pc-nrfutil, converted from Intel HEX with src/formats/intel-hex.ts). It
 * is an ARM Cortex-M image, but built for another chip: for simulated boards only, never for
 * real hardware.
 *
 * The Arduino AVR targets (ATmega328P for the Uno and old Nano, ATmega168, ATmega2560,
 * ATmega32U4 for the Leonardo) carry real sketches built from Intel HEX, gaps kept
 * (scripts/avr-demo-release.ts).
 * The MCUboot target (the nRF52840 DK, `mcuboot-smp`) carries the same stand-in as an MCUboot
 * image signed with the simulator's own MCUboot key: for simulated boards only (see below).
 *
 * The output is byte-for-byte reproducible (fixed dates, deterministic ed25519).
 *
 * Usage: npx tsx scripts/make-demo-bundle.ts [--out public/demo/demo.fwb]
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createBundle, type DraftTarget, type ManifestDraft } from '../src/bundle/create.ts';
import { readSecretKey } from '../src/cli/keyfile.ts';
import { parseIntelHex } from '../src/formats/intel-hex.ts';
import { ESP_CHIPS } from '../src/protocols/esp/chips.ts';
import { retargetImage } from '../src/protocols/esp/image.ts';
import { avrDemoRelease } from './avr-demo-release.ts';
import { SIM_MCUBOOT_SECRET_KEY } from '../src/sim/mcuboot/boards.ts';
import { buildMcubootImage } from '../src/sim/mcuboot/image-tools.ts';

const firmware = join(import.meta.dirname, '..', 'test', 'fixtures', 'firmware');
const outArg = process.argv.indexOf('--out');
const out = outArg >= 0 ? process.argv[outArg + 1]! : join('public', 'demo', 'demo.fwb');

const read = async (name: string): Promise<Uint8Array> =>
  new Uint8Array(await readFile(join(firmware, name)));

/** Size of the stand-in image: small, so flashing it over a 115200-baud UART takes seconds. */
const STAND_IN_BYTES = 16 * 1024;

/** The first STAND_IN_BYTES of the first segment of nrf-foo.hex, as a flat binary. */
async function standIn(): Promise<Uint8Array> {
  const hex = parseIntelHex(await read('nrf-foo.hex'));
  const first = hex.segments[0];
  if (!first || first.data.length < STAND_IN_BYTES) {
    throw new Error('nrf-foo.hex: expected a first segment of at least 16 KiB');
  }
  return first.data.slice(0, STAND_IN_BYTES);
}

const blinkS2 = await read('esp_idf_blink_esp32s2.bin');
const images: Record<string, Uint8Array> = {
  partitions: await read('partitions_singleapp.bin'),
  'blink-esp32s2': blinkS2,
  'blink-esp32s3': retargetImage(blinkS2, ESP_CHIPS.esp32s3),
  'blink-esp32': retargetImage(blinkS2, ESP_CHIPS.esp32),
  'blink-esp32c3': retargetImage(blinkS2, ESP_CHIPS.esp32c3),
  'bootloader-esp32': await read('bootloader_esp32.bin'),
  'bootloader-esp32c3': await read('bootloader_esp32c3.bin'),
  'standin-nrf52-foo': await standIn(),
};
const avr = avrDemoRelease(firmware);
Object.assign(images, avr.images);

/**
 * MCUboot over SMP (the nRF52840 DK, application MCUmgr or serial recovery): an MCUboot image
 * made the way `imgtool sign --header-size 0x200 --pad-header` makes one, version 1.2.0, around
 * the same 16 KiB nRF52 stand-in, and signed with the SIMULATOR's MCUboot key
 * (SIM_MCUBOOT_SECRET_KEY, src/sim/mcuboot/boards.ts), which only the simulated boards trust.
 * FOR SIMULATED BOARDS ONLY: a real MCUboot refuses it (wrong key), and the body is not an
 * application for the nRF52840.
 */
images['mcuboot-nrf52840-standin'] = buildMcubootImage({
  version: { major: 1, minor: 2, revision: 0, build: 0 },
  body: images['standin-nrf52-foo']!,
  secretKey: SIM_MCUBOOT_SECRET_KEY,
});
const MCUBOOT_TARGETS: readonly DraftTarget[] = [
  {
    chip: 'nrf52840',
    protocol: 'mcuboot-smp',
    // The updater confirms the image once MCUboot has started it as a test.
    confirm: 'host',
    images: [{ name: 'mcuboot-nrf52840-standin', slot: 0 }],
  },
];

const manifest: ManifestDraft = {
  product: 'webflash-demo',
  version: '1.2.0',
  securityCounter: 2,
  created: '2026-11-01T00:00:00Z',
  expires: '2031-11-01T00:00:00Z',
  notes:
    'Demo release for simulated boards: the ESP-IDF "blink" example for ESP32 boards; for the ' +
    'STM32F4 (USART and DfuSe) and the generic DFU gadget a stand-in image (16 KiB of an nRF52 ' +
    'test firmware) that is not meant for real hardware; for the Arduino Uno, Nano, Diecimila, ' +
    'Mega 2560 and Leonardo a Blink sketch. Signed with the public demo key, so ' +
    'only demo builds accept it.' +
    ' For the nRF52840 with MCUboot, the stand-in as an MCUboot image signed with the ' +
    "simulator's MCUboot key, which only simulated boards trust.",
  targets: [
    {
      chip: 'esp32s3',
      protocol: 'esp-serial',
      writes: ['partitions', 'app'],
      images: [
        { name: 'partitions', address: 0x8000 },
        { name: 'blink-esp32s3', address: 0x10000 },
      ],
    },
    {
      chip: 'esp32s2',
      protocol: 'esp-serial',
      writes: ['partitions', 'app'],
      images: [
        { name: 'partitions', address: 0x8000 },
        { name: 'blink-esp32s2', address: 0x10000 },
      ],
    },
    {
      chip: 'esp32',
      protocol: 'esp-serial',
      // Writes the second-stage bootloader (below 0x8000): declared, and shown before flashing.
      writes: ['bootloader', 'partitions', 'app'],
      images: [
        { name: 'bootloader-esp32', address: 0x1000 },
        { name: 'partitions', address: 0x8000 },
        { name: 'blink-esp32', address: 0x10000 },
      ],
    },
    {
      chip: 'esp32c3',
      protocol: 'esp-serial',
      // Writes the second-stage bootloader (below 0x8000): declared, and shown before flashing.
      writes: ['bootloader', 'partitions', 'app'],
      images: [
        { name: 'bootloader-esp32c3', address: 0x0 },
        { name: 'partitions', address: 0x8000 },
        { name: 'blink-esp32c3', address: 0x10000 },
      ],
    },
    {
      chip: 'stm32f4',
      protocol: 'stm32-usart',
      images: [{ name: 'standin-nrf52-foo', address: 0x08000000 }],
    },
    {
      chip: 'stm32f4',
      protocol: 'dfuse',
      usb: { vendorId: 0x0483, productId: 0xdf11 },
      images: [{ name: 'standin-nrf52-foo', address: 0x08000000 }],
    },
    {
      chip: 'example-gadget',
      protocol: 'dfu',
      // Run-time id 1209:0001; in DFU mode (DFU 1.1 §5.1) the gadget is 1209:0002, so one left
      // there by a failed update is flashed again (src/sim/dfu/generic-dfu-sim.ts).
      usb: { vendorId: 0x1209, productId: 0x0001, dfuProductId: 0x0002 },
      images: [{ name: 'standin-nrf52-foo', slot: 0 }],
    },
    ...avr.targets,
    ...MCUBOOT_TARGETS,
  ],
};

const key = await readSecretKey(join('demo', 'keys', 'demo-release.key'));
const bundle = createBundle({ manifest, images, signers: [key] });
await mkdir(dirname(out), { recursive: true });
await writeFile(out, bundle);
console.log(`wrote ${out} (${bundle.length} bytes)`);
