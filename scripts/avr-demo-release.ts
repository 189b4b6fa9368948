/**
 * The Arduino AVR part of the demo release: one target per AVR chip of the simulated boards,
 * each from a real Intel HEX build in test/fixtures/firmware (sources and licences in
 * test/fixtures/README.md). Each contiguous segment of a HEX file becomes one bundle image at
 * its own address — gaps stay gaps, as `webflash bundle create` does (src/cli/hex-images.ts).
 *
 * Used by scripts/make-demo-bundle.ts and by the tests that build AVR releases of their own.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DraftTarget } from '../src/bundle/create.ts';
import { expandHexImages } from '../src/cli/hex-images.ts';

/** Chip, protocol and sketch of each AVR target: the boards the demo offers. */
const AVR_TARGETS = [
  // Arduino Uno R3 (optiboot) and old Nano (ATmegaBOOT): Arduino 1.0.6 "Blink", 1 082 bytes.
  { chip: 'atmega328p', protocol: 'avr-stk500v1', image: 'blink-uno', file: 'avr-uno-Blink.hex' },
  // Arduino Diecimila (ATmegaBOOT at 19200): avr-src/blink.c, 162 bytes.
  { chip: 'atmega168', protocol: 'avr-stk500v1', image: 'blink-m168', file: 'avr-m168-blink.hex' },
  // Arduino Mega 2560 R3 (stk500boot, STK500v2): avr-src/blink.c, 288 bytes.
  {
    chip: 'atmega2560',
    protocol: 'avr-stk500v2',
    image: 'blink-mega2560',
    file: 'avr-mega2560-blink.hex',
  },
  // Arduino Leonardo (Caterina, AVR109): avr-src/blink.c, 228 bytes.
  {
    chip: 'atmega32u4',
    protocol: 'avr109',
    image: 'blink-leonardo',
    file: 'avr-leonardo-blink.hex',
  },
] as const;

/** Images and targets of the AVR boards, ready for `createBundle`. */
export interface AvrRelease {
  images: Record<string, Uint8Array>;
  targets: DraftTarget[];
}

/**
 * Reads the AVR sketches from `firmwareDir` (test/fixtures/firmware).
 * @throws {Error} when a file is missing or is not Intel HEX.
 * @example const avr = avrDemoRelease('test/fixtures/firmware'); createBundle({ manifest: { …, targets: avr.targets }, images: avr.images, … })
 */
export function avrDemoRelease(firmwareDir: string): AvrRelease {
  const files = new Map<string, string>(AVR_TARGETS.map((t) => [t.image, t.file]));
  const bytes = new Map<string, Uint8Array>(
    AVR_TARGETS.map((t) => [t.image, new Uint8Array(readFileSync(join(firmwareDir, t.file)))]),
  );
  const { images, entries } = expandHexImages(files, bytes, (name) => ({ name }));
  return {
    images: Object.fromEntries(images),
    targets: AVR_TARGETS.map((t) => ({
      chip: t.chip,
      protocol: t.protocol,
      images: (entries.get(t.image) ?? []).map((e) => ({
        name: e.name,
        address: e['address'] as number,
      })),
    })),
  };
}
