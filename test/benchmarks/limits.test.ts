/**
 * The arithmetic of the protocol limits (benchmarks/limits.ts) on small cases computed by hand:
 * bytes on the line, two adapter latencies per exchange, and the device's busy time; the ESP
 * limits (benchmarks/limits-esp.ts) the same way.
 */
import { describe, expect, it } from 'vitest';
import {
  an3155WriteLimit,
  avr109Limit,
  dfuLimit,
  dfuseLimit,
  serialLimit,
  serialTiming,
  smpUploadLimit,
  stk500v1Limit,
  stk500v2Limit,
} from '../../benchmarks/limits.ts';
import { espRomLimit, espStubLimit } from '../../benchmarks/limits-esp.ts';
import { INSTANT_TIMING } from '../../src/sim/flash-model.ts';
import { LINK_CP2102, LINK_USB_CDC } from '../../src/sim/link-model.ts';

/** 1 ms per byte, 1 ms latency, 64-byte chunks: every figure below is a count. */
const T = { byteMs: 1, latencyMs: 1, chunkSize: 64 };

describe('protocol limits', () => {
  it('serial timing: 8N1 and 8E1 character times, USB CDC rate', () => {
    expect(serialTiming(LINK_CP2102, 115_200).byteMs).toBeCloseTo(10 / 115.2, 9);
    expect(serialTiming(LINK_CP2102, 1_000_000, 11).byteMs).toBeCloseTo(0.011, 9);
    expect(serialTiming(LINK_USB_CDC, 9600)).toEqual({
      byteMs: 0.001,
      latencyMs: 1,
      chunkSize: 64,
    });
  });

  it('an exchange costs its bytes both ways, two latencies and the busy time', () => {
    // (3 + 2) × 1 + 2 × 1 + 4, twice.
    expect(serialLimit(T, [{ out: 3, back: 2, busyMs: 4, times: 2 }])).toEqual({
      ms: 22,
      wireMs: 10,
      turnaroundMs: 4,
      deviceMs: 8,
    });
  });

  it('STK500v1: two 4-byte pages, address every page; optiboot hides the erase', () => {
    const page = { pageSize: 4, eraseMs: 5, writeMs: 3, imageBytes: 8 };
    // Per page: LOAD_ADDRESS 4 + 2 bytes, PROG_PAGE 9 + 2 bytes, 4 latencies, write 3 ms plus
    // the part of the 5 ms erase the data did not cover (none left after the first 64-byte
    // chunk: 9 bytes fit in it, so all 5 ms remain).
    const v1 = stk500v1Limit(T, { ...page, eraseWhileReceiving: true });
    expect(v1.write.ms).toBe(2 * (6 + 2 + 11 + 2 + 5 + 3));
    // READ_PAGE: 5 out, 4 + 2 back.
    expect(v1.verify.ms).toBe(2 * (6 + 2 + 11 + 2));
    // With 1-byte chunks the 8 bytes after the first cover 8 ms of the 5 ms erase.
    const small = stk500v1Limit({ ...T, chunkSize: 1 }, { ...page, eraseWhileReceiving: true });
    expect(small.write.deviceMs).toBe(2 * 3);
  });

  it('STK500v2 and AVR109 set the address once and then stream pages', () => {
    const page = { pageSize: 4, eraseMs: 5, writeMs: 3, imageBytes: 8 };
    const v2 = stk500v2Limit(T, page);
    // LOAD_ADDRESS 11 + 8 and 2 latencies; per page PROGRAM_FLASH_ISP 20 + 8, 2 latencies, 8 ms.
    expect(v2.write.ms).toBe(21 + 2 * (28 + 2 + 8));
    // READ_FLASH_ISP: 10 out, 13 back.
    expect(v2.verify.ms).toBe(21 + 2 * (23 + 2));
    const a = avr109Limit(T, page);
    expect(a.write.ms).toBe(6 + 2 * (9 + 2 + 8));
    expect(a.verify.ms).toBe(6 + 2 * (8 + 2));
  });

  it('AN3155: one erase command, then three exchanges per 256-byte block', () => {
    const l = an3155WriteLimit(T, {
      imageBytes: 300,
      sectorEraseMs: [250],
      programMs: (n) => n / 100,
    });
    const erase = 3 + 2 + (6 + 2 + 250);
    const block = (n: number): number => 3 + 2 + (6 + 2) + (3 + n + 2 + n / 100);
    expect(l.ms).toBeCloseTo(erase + block(256) + block(44), 9);
  });

  it('DFU 1.1: a 64-byte block and its GETSTATUS on the full-speed bus', () => {
    // SETUP 8+13, one DATA 64+13, STATUS 0+13 = 111 byte times; GETSTATUS: 8+13, 6+13, 0+13 =
    // 53. The first frame opens with 5 byte times of SOF: (5 + 111 + 53) / 1500 ms.
    const l = dfuLimit({ imageBytes: 64, transferSize: 64, blockPollMs: () => 0 });
    expect(l.ms).toBeCloseTo(169 / 1500, 9);
    // A poll timeout of 2 ms: wait, then one more GETSTATUS in the frame the wait ends in.
    const busy = dfuLimit({ imageBytes: 64, transferSize: 64, blockPollMs: () => 2 });
    expect(busy.deviceMs).toBe(2);
    expect(busy.ms).toBeCloseTo(169 / 1500 + 2 + 53 / 1500, 9);
  });

  it('DfuSe adds an erase command per sector and the address pointer', () => {
    const plain = dfuLimit({ imageBytes: 64, transferSize: 64, blockPollMs: () => 0 });
    const l = dfuseLimit({
      imageBytes: 64,
      transferSize: 64,
      sectorEraseMs: [250],
      blockPollMs: () => 0,
    });
    expect(l.deviceMs).toBe(250);
    expect(l.ms).toBeGreaterThan(plain.ms + 250);
  });

  it('SMP upload: one chunk of a small image, framed in base64 lines, with the erase', () => {
    const l = smpUploadLimit(T, {
      imageBytes: 16,
      bufSize: 384,
      requestMs: 0.2,
      programMs: (n) => (n / 4) * 0.041,
      eraseMs: 170,
    });
    // One exchange: two latencies, erase + request + 4 words of programming.
    expect(l.turnaroundMs).toBe(2);
    expect(l.deviceMs).toBeCloseTo(170 + 0.2 + 0.164, 9);
    // Request: 8 + CBOR {len: 16, off: 0, sha: 32 bytes, data: 16 bytes} (1 + 5 + 5 + 38 + 22)
    // = 79 bytes, + 4 (length, CRC) = 83 → 112 base64 characters, 2 + 112 + 1 = 115 bytes in
    // one frame. Reply: 8 + indefinite map {off: 16, match: true} (1 + 5 + 7 + 1) = 22, + 4 =
    // 26 → 36 characters, 39 bytes.
    expect(l.wireMs).toBe(115 + 39);
  });

  it('SMP upload: chunks fill the receive buffer in whole words', () => {
    const l = smpUploadLimit(T, {
      imageBytes: 4096,
      bufSize: 384,
      requestMs: 0,
      programMs: () => 0,
      eraseMs: 0,
    });
    // 384 - (8 + 4 + CBOR without data + 2): the first chunk (len, off, sha) 312 bytes, then
    // 356 each: 4096 bytes in 12 exchanges.
    expect(l.turnaroundMs / 2).toBe(12);
  });
});

/** A zlib stream of zeros in stored blocks of the given lengths (RFC 1950, RFC 1951 §3.2.4). */
function storedZeros(parts: readonly number[]): Uint8Array {
  const out: number[] = [0x78, 0x01];
  parts.forEach((n, i) => {
    const nlen = ~n & 0xffff;
    out.push(i === parts.length - 1 ? 1 : 0, n & 0xff, n >> 8, nlen & 0xff, nlen >> 8);
    out.push(...new Array<number>(n).fill(0));
  });
  // Adler-32 of zeros: a = 1, b = the count (mod 65521), big-endian.
  const b = parts.reduce((x, y) => x + y, 0) % 65521;
  out.push(b >> 8, b & 0xff, 0, 1);
  return new Uint8Array(out);
}

/** 10 ms per erase of any size, 1 ms per KiB programmed. */
const FLASH = { sectorEraseMs: () => 10, programMs: (n: number) => n / 1024, chipEraseMs: () => 0 };

describe('ESP protocol limits', () => {
  it('ROM, plain: the erase first, then 1 KiB blocks programmed before their answer', () => {
    // 0xC0 in every data byte: each is escaped to two bytes on the line.
    const data = new Uint8Array(2048).fill(0xc0);
    const l = espRomLimit(T, {
      offset: 0x10000,
      imageBytes: 2048,
      data,
      compressed: false,
      timing: FLASH,
    });
    // FLASH_BEGIN: 8 + 16 bytes in two 0xC0, none escaped; reply 8 + 4 status bytes, 14 on the
    // line; one 4 KiB sector erased. A block: 8 + 16 + 1024 + 1024 escapes + 2 = 2074 out,
    // 14 back, 1 ms of programming; two latencies each.
    expect(l.ms).toBe(26 + 14 + 2 + 10 + 2 * (2074 + 14 + 2 + 1));
    expect(l.deviceMs).toBe(12);
    // The last block is padded to 1 KiB with 0xFF, programmed whole.
    const short = espRomLimit(T, {
      offset: 0x10000,
      imageBytes: 1000,
      data: new Uint8Array(1000),
      compressed: false,
      timing: FLASH,
    });
    expect(short.ms).toBe(26 + 14 + 2 + 10 + (1050 + 14 + 2 + 1));
  });

  it('ROM, compressed: the block inflates to 100 bytes, programmed before the answer', () => {
    // 78 01, stored block 01 64 00 9B FF, 100 zeros, Adler-32 00 64 00 01: 111 bytes.
    const data = storedZeros([100]);
    expect(data.length).toBe(111);
    const o = { offset: 0x10000, imageBytes: 100, data, compressed: true, timing: FLASH };
    // FLASH_DEFL_BEGIN erases 100 bytes rounded up to a 1 KiB block: one sector. The block:
    // 8 + 16 + 111 + 2 = 137 bytes, checksum 0xF2, nothing escaped.
    const begin = 26 + 14 + 2 + 10;
    expect(espRomLimit(T, o).ms).toBeCloseTo(begin + (137 + 14 + 2 + 100 / 1024), 9);
    // Later ROMs take a fifth word in FLASH_DEFL_BEGIN; the ESP8266 ROM answers 2 status bytes.
    expect(espRomLimit(T, { ...o, beginWords: 5 }).wireMs).toBe(26 + 4 + 14 + 137 + 14);
    expect(espRomLimit(T, { ...o, statusBytes: 2 }).wireMs).toBe(26 + 12 + 137 + 12);
  });

  // 64 KiB in stored blocks that end on the 16 KiB block boundaries: blocks 0–3 inflate to
  // 16377, 16379, 16379, 16379 bytes, block 4 (31 bytes) to 22.
  const stream = storedZeros([16377, 16379, 16379, 16379, 22]);
  const stub = { offset: 0x10000, imageBytes: 65536, data: stream };

  it('stub: the line, escapes and turnarounds of every exchange when the flash takes no time', () => {
    const l = espStubLimit(T, { ...stub, timing: INSTANT_TIMING, sectorReadMs: 0 });
    // FLASH_DEFL_BEGIN 26 out, 12 back (2 status bytes). Blocks 0–3: 8 + 16 + 16384 + 2, plus
    // one escape each (the stored block's NLEN holds 0xC0), 12 back; block 4: 8 + 16 + 31 + 2;
    // FLASH_DEFL_END 14 out, 12 back. Two latencies per exchange.
    expect(l.wireMs).toBe(26 + 12 + 4 * (16411 + 12) + (57 + 12) + (14 + 12));
    expect(l.turnaroundMs).toBe(7 * 2);
    expect(l.deviceMs).toBe(0);
  });

  it('stub: erase, then each 32 KiB buffer programmed when full, behind a link of no cost', () => {
    const l = espStubLimit(
      { byteMs: 0, latencyMs: 0, chunkSize: 64 },
      {
        ...stub,
        timing: { ...FLASH, sectorEraseMs: (n) => (n === 65536 ? 100 : 10), programMs: () => 64 },
        sectorReadMs: 0.5,
      },
    );
    // The blank check reads a sector (0.5 ms) and starts the 64 KiB erase (100 ms). Block 2
    // fills the 32 KiB buffer: programmed once the erase is done (64 ms); block 4 fills it
    // again (64 ms). FLASH_DEFL_END is answered when that is done.
    expect(l.ms).toBe(0.5 + 100 + 64 + 64);
    expect(l.deviceMs).toBe(l.ms);
  });

  it('stub: a block on the line overlaps the work on the one before', () => {
    const timing = { ...FLASH, sectorEraseMs: () => 0, programMs: () => 30_000 };
    const l = espStubLimit(T, { ...stub, timing, sectorReadMs: 0 });
    const line = espStubLimit(T, { ...stub, timing: INSTANT_TIMING, sectorReadMs: 0 });
    // The first buffer is programmed after block 2 (30 s) while block 2's answer and block 3
    // cross the line (12 + 16 411 bytes, two latencies): block 3 waits 30 000 - 16 425 ms for
    // the stub. The second buffer is programmed after block 4; its answer and FLASH_DEFL_END
    // take 12 + 14 bytes and two latencies, and the end waits 30 000 - 28 ms.
    expect(l.deviceMs).toBe(30_000 - (12 + 16411 + 2) + (30_000 - (12 + 14 + 2)));
    expect(l.ms).toBe(line.ms + l.deviceMs);
  });
});
