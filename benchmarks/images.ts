/**
 * Benchmark images and the physical limits they are compared with.
 *
 * Realistic images are the real ESP-IDF "blink" app for the ESP32-S2
 * (test/fixtures/firmware/esp_idf_blink_esp32s2.bin, espressif/esptool test/images at bb72741)
 * repeated back to back and cut to the wanted size: compiled code and data compress like a real
 * application (zlib level 6 gives about 0.56). Random images are seeded xorshift32 output, which
 * does not compress at all.
 */
import { readFileSync } from 'node:fs';
import { zlibSync } from 'fflate';
import type { FlashTiming } from '../src/sim/flash-model.ts';

export type ImageKind = 'realistic' | 'random';

const FIRMWARE = new URL('../test/fixtures/firmware/', import.meta.url);

/** A real firmware file from test/fixtures/firmware. */
function firmware(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(name, FIRMWARE)));
}

/** `size` bytes of the blink app repeated, or of seeded random data. */
export function benchImage(kind: ImageKind, size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  if (kind === 'realistic') {
    const app = firmware('esp_idf_blink_esp32s2.bin');
    for (let at = 0; at < size; at += app.length) out.set(app.subarray(0, size - at), at);
    return out;
  }
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** zlib size at level 9 over the whole image: the fewest bytes any ESP tool would send. */
export function bestCompressedSize(image: Uint8Array): number {
  return zlibSync(image, { level: 9 }).length;
}

/**
 * Time the ESP ROM spends erasing `size` bytes at a 64 KiB-aligned address: 64 KiB blocks where
 * they fit, 4 KiB sectors for the rest (the simulator's SPIEraseArea rule, sim/esp/rom-flash.ts).
 */
export function espEraseMs(size: number, timing: FlashTiming): number {
  const sectors = Math.ceil(size / 4096);
  const blocks = Math.floor(sectors / 16);
  return (
    blocks * timing.sectorEraseMs(65536) + (sectors - blocks * 16) * timing.sectorEraseMs(4096)
  );
}
