/**
 * The arithmetic of the protocol limits (benchmarks/limits.ts) on small cases computed by hand:
 * bytes on the line, two adapter latencies per exchange, and the device's busy time.
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
