import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VerificationError } from '../../core/errors.ts';
import { silentLogger } from '../../core/log.ts';
import { confirmedBytesOf } from '../driver.ts';
import { avrChipById } from './chips.ts';
import { AvrSession, pagesOf, type AvrProgrammer } from './session.ts';

/** A programmer over a plain array; `damage` spoils the next n page writes. */
function fakeProgrammer(size: number) {
  const flash = new Uint8Array(size).fill(0xff);
  const writes: number[] = [];
  const p = {
    flash,
    writes,
    damage: 0,
    writePage(address: number, page: Uint8Array): Promise<void> {
      writes.push(address);
      flash.set(page, address);
      if (p.damage > 0) {
        p.damage--;
        flash[address] = flash[address]! ^ 0xff;
      }
      return Promise.resolve();
    },
    readFlash: (address: number, length: number) =>
      Promise.resolve(flash.slice(address, address + length)),
    resync: () => Promise.resolve(),
    leave: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
  return p satisfies AvrProgrammer;
}

function session(checkPages: boolean) {
  const chip = avrChipById('atmega328p')!;
  const programmer = fakeProgrammer(chip.flashSize);
  const s = new AvrSession({
    programmer,
    chip,
    identity: { protocol: 'avr-stk500v1', chip: chip.chip, name: chip.name },
    logger: silentLogger,
    checkPages,
  });
  return { s, programmer };
}

describe('pagesOf', () => {
  it('covers the region exactly, in page-aligned spans', () => {
    fc.assert(
      fc.property(fc.nat(4000), fc.integer({ min: 1, max: 2000 }), (address, length) => {
        const spans = pagesOf({ name: 'x', address, data: new Uint8Array(length) }, 128);
        expect(spans[0]!.start).toBe(0);
        expect(spans[spans.length - 1]!.end).toBe(length);
        for (const [i, s] of spans.entries()) {
          expect(s.address % 128).toBe(0);
          expect(s.offset + (s.end - s.start)).toBeLessThanOrEqual(128);
          if (i > 0) expect(s.start).toBe(spans[i - 1]!.end);
          expect(s.whole).toBe(s.offset === 0 && s.end - s.start === 128);
        }
      }),
    );
  });
});

describe('AvrSession', () => {
  it('writes a page again when it reads back differently', async () => {
    const { s, programmer } = session(true);
    programmer.damage = 1;
    const data = new Uint8Array(256).fill(0x12);
    await s.write({ name: 'a', address: 0, data }, {});
    expect(programmer.writes).toEqual([0, 0, 128]);
    await s.verify({ name: 'a', address: 0, data }, {});
  });

  it('a resumed verify reads only the pages an earlier attempt had not compared', async () => {
    const { s, programmer } = session(false);
    const data = new Uint8Array(512).fill(0x56);
    await s.write({ name: 'a', address: 0, data }, {});
    const reads: number[] = [];
    const read = programmer.readFlash;
    programmer.readFlash = (address, length) => {
      reads.push(address);
      return read(address, length);
    };
    const done: number[] = [];
    await s.verify(
      { name: 'a', address: 0, data },
      { resumeFrom: 300, onProgress: (p) => done.push(p.bytesDone) },
    );
    expect(reads).toEqual([256, 384]); // 300 lies in the page at 256: compared again
    expect(done).toEqual([384, 512]);
  });

  it('gives up after three writes with the confirmed bytes for resuming', async () => {
    const { s, programmer } = session(true);
    const data = new Uint8Array(384).fill(0x34);
    await s.write({ name: 'a', address: 0, data: data.subarray(0, 128) }, {});
    programmer.damage = 3;
    const err = await s
      .write({ name: 'a', address: 0, data }, { resumeFrom: 128 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VerificationError);
    expect(confirmedBytesOf(err)).toBe(128);
  });

  it('without page checks, verify finds a damaged page and writes it again', async () => {
    const { s, programmer } = session(false);
    programmer.damage = 1;
    const data = new Uint8Array(256).fill(0x56);
    await s.write({ name: 'a', address: 0, data }, {});
    expect(programmer.writes).toEqual([0, 128]);
    const done: number[] = [];
    await s.verify({ name: 'a', address: 0, data }, { onProgress: (p) => done.push(p.bytesDone) });
    expect(programmer.writes).toEqual([0, 128, 0]);
    expect(programmer.flash.subarray(0, 256)).toEqual(data);
    expect(done).toEqual([128, 256]);
  });

  it('verify keeps the bytes of a partly covered page when it writes the page again', async () => {
    const { s, programmer } = session(false);
    programmer.flash.fill(0x33, 0, 128);
    const data = new Uint8Array(40).fill(0x44);
    await s.write({ name: 'a', address: 0x10, data }, {});
    programmer.flash[0x20] = 0x00; // a byte the image covers reads differently
    await s.verify({ name: 'a', address: 0x10, data }, {});
    expect(programmer.writes).toEqual([0, 0]);
    expect([...programmer.flash.subarray(0, 0x10)].every((b) => b === 0x33)).toBe(true);
    expect([...programmer.flash.subarray(0x10, 0x38)].every((b) => b === 0x44)).toBe(true);
    expect([...programmer.flash.subarray(0x38, 128)].every((b) => b === 0x33)).toBe(true);
  });

  it('verify gives up on a page that still differs after three writes', async () => {
    const { s, programmer } = session(false);
    const data = new Uint8Array(256).fill(0x56);
    await s.write({ name: 'a', address: 0, data }, {});
    programmer.flash[130] = 0x00; // the second page reads differently…
    programmer.damage = 3; // …and every write of it goes wrong
    const err = await s.verify({ name: 'a', address: 0, data }, {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VerificationError);
    expect(String((err as Error).message)).toMatch(/0x00000080 reads back differently after 3/);
    expect(programmer.writes).toEqual([0, 128, 128, 128, 128]);
  });
});
