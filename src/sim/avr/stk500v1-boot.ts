/**
 * The device side of STK500v1 (Atmel AVR061) as two Arduino bootloaders really answer it:
 *
 * - optiboot 4.4, the version the Arduino AVR core ships for the Uno (ArduinoCore-avr
 *   bootloaders/optiboot/optiboot.c): every command ends with verifySpace — Sync_CRC_EOP
 *   expected, else the watchdog is set to 16 ms and the bootloader stops reading, so the chip
 *   resets into the application; INSYNC, the data, OK. GET_PARAMETER answers 4 for 0x81/0x82
 *   and 0x03 for anything else; UNIVERSAL answers 0 (fuses read as 0x00 through it);
 *   PROG_PAGE and READ_PAGE take only the low byte of the length (0 means 256) and ignore the
 *   memory type; PROG_PAGE starts erasing the page as soon as the length is in (in the RWW
 *   section, while the data arrives), then fills a whole page from its buffer — bytes the
 *   command did not send are what the buffer held before — and writes it; LEAVE_PROGMODE sets
 *   the watchdog to 16 ms.
 * - ATmegaBOOT_168.c (older Nano, Duemilanove, at 57600): the terminator is checked before the
 *   answer (nothing_response / byte_response); a wrong one, or an unknown command, counts an
 *   error, and the fifth starts the application (MAX_ERROR_COUNT); UNIVERSAL 0x30 reads the
 *   signature, anything else 0; getch gives up and starts the application after about a
 *   second without a byte (MAX_TIME_COUNT).
 */
import { Stk, StkResp } from '../../protocols/avr/stk500v1.ts';
import { getN, getch, type AvrBootContext, type BootProgram } from './board.ts';

const { INSYNC, OK, CRC_EOP } = StkResp;

/** optiboot 4.4, reporting version `major.minor`. */
export function optiboot(version: { major: number; minor: number }) {
  return function* program(ctx: AvrBootContext): BootProgram {
    let address = 0; // byte address
    const sig = ctx.chip.signature;
    const pageSize = ctx.chip.pageSize;
    const nrwwStart = ctx.chip.flashSize - ctx.chip.nrwwSize;
    const buff = new Uint8Array(256); // the page buffer in RAM, kept between commands
    /** verifySpace(): false when the frame was broken (the watchdog will reset the chip). */
    function* verifySpace(): Generator<{ need: number }, boolean, Uint8Array> {
      const b = (yield { need: 1 })[0];
      if (b !== CRC_EOP) {
        ctx.watchdog(16);
        return false;
      }
      ctx.send([INSYNC]);
      return true;
    }
    for (;;) {
      const ch = yield* getch();
      if (ch === Stk.GET_PARAMETER) {
        const which = yield* getch();
        if (!(yield* verifySpace())) return;
        ctx.send([which === 0x82 ? version.minor : which === 0x81 ? version.major : 0x03]);
      } else if (ch === Stk.SET_DEVICE || ch === Stk.SET_DEVICE_EXT) {
        yield* getN(ch === Stk.SET_DEVICE ? 20 : 5);
        if (!(yield* verifySpace())) return;
      } else if (ch === Stk.LOAD_ADDRESS) {
        const a = yield* getN(2);
        address = ((a[0]! | (a[1]! << 8)) * 2) & 0xffff;
        if (!(yield* verifySpace())) return;
      } else if (ch === Stk.UNIVERSAL) {
        yield* getN(4);
        if (!(yield* verifySpace())) return;
        ctx.send([0x00]);
      } else if (ch === Stk.PROG_PAGE) {
        const h = yield* getN(3);
        const length = h[1]! || 256;
        // In the RWW section the erase starts now and runs while the data arrives.
        let eraseDone = 0;
        if (address < nrwwStart) eraseDone = ctx.now() + ctx.erasePage(address);
        buff.set(yield* getN(length));
        if (address >= nrwwStart) eraseDone = ctx.now() + ctx.erasePage(address);
        if (!(yield* verifySpace())) return;
        const busy = Math.max(0, eraseDone - ctx.now());
        const page = address - (address % pageSize);
        const ms = busy + ctx.writePage(page, buff.subarray(0, pageSize));
        if (ms > 0) yield { waitMs: ms };
      } else if (ch === Stk.READ_PAGE) {
        const h = yield* getN(3);
        const length = h[1]! || 256;
        if (!(yield* verifySpace())) return;
        ctx.send(readFlash(ctx, address, length));
        address += length;
      } else if (ch === Stk.READ_SIGN) {
        if (!(yield* verifySpace())) return;
        ctx.send(sig);
      } else if (ch === Stk.LEAVE_PROGMODE) {
        ctx.watchdog(16); // "Adaboot no-wait mod"
        if (!(yield* verifySpace())) return;
      } else {
        // GET_SYNC, ENTER_PROGMODE, CHIP_ERASE, anything else: just the terminator.
        if (!(yield* verifySpace())) return;
      }
      ctx.onCommand(ch);
      ctx.send([OK]);
    }
  };
}

/** ATmegaBOOT_168.c as built for the ATmega168/328P Arduinos (HW 2, SW 1.16). */
export function* atmegaBoot(ctx: AvrBootContext): BootProgram {
  let address = 0; // word address, as the bootloader keeps it
  let errors = 0;
  const sig = ctx.chip.signature;
  const failed = (): boolean => {
    errors++;
    if (errors === 5) {
      ctx.startApplication();
      return true;
    }
    return false;
  };
  /** nothing_response / byte_response; false = the bootloader left for the application. */
  function* respond(
    value: readonly number[],
    op: number,
  ): Generator<{ need: number }, boolean, Uint8Array> {
    const b = (yield { need: 1 })[0];
    if (b === CRC_EOP) {
      ctx.onCommand(op);
      ctx.send([INSYNC, ...value, OK]);
      return true;
    }
    return !failed();
  }
  for (;;) {
    const ch = yield* getch();
    let alive = true;
    if (ch === Stk.GET_SYNC || ch === Stk.ENTER_PROGMODE || ch === Stk.CHIP_ERASE) {
      alive = yield* respond([], ch);
    } else if (ch === Stk.GET_SIGN_ON) {
      alive = yield* respond(
        [...'AVR ISP'].map((c) => c.charCodeAt(0)),
        ch,
      );
    } else if (ch === Stk.SET_PARAMETER) {
      const p = yield* getch();
      if (p > 0x85) yield* getch();
      alive = yield* respond([], ch);
    } else if (ch === Stk.GET_PARAMETER) {
      const p = yield* getch();
      const value =
        p === 0x80 ? 0x02 : p === 0x81 ? 0x01 : p === 0x82 ? 0x10 : p === 0x98 ? 0x03 : 0x00;
      alive = yield* respond([value], ch);
    } else if (ch === Stk.SET_DEVICE || ch === Stk.SET_DEVICE_EXT) {
      yield* getN(ch === Stk.SET_DEVICE ? 20 : 5);
      alive = yield* respond([], ch);
    } else if (ch === Stk.LEAVE_PROGMODE) {
      alive = yield* respond([], ch);
      if (alive) ctx.watchdog(16); // "autoreset via watchdog (sneaky!)"
      if (alive) return;
    } else if (ch === Stk.LOAD_ADDRESS) {
      const a = yield* getN(2);
      address = a[0]! | (a[1]! << 8);
      alive = yield* respond([], ch);
    } else if (ch === Stk.UNIVERSAL) {
      const i = yield* getN(4);
      const value = i[0] === 0x30 ? (sig[Math.min(i[2]!, 2)] ?? 0) : 0x00;
      alive = yield* respond([value], ch);
    } else if (ch === Stk.PROG_PAGE) {
      const h = yield* getN(3);
      const length = (h[0]! << 8) | h[1]!;
      const data = length > 0 ? yield* getN(length) : new Uint8Array(0);
      const end = yield* getch();
      if (end === CRC_EOP) {
        let ms = 0;
        if (h[2] === 0x45) {
          ctx.eeprom.set(
            data.subarray(0, ctx.eeprom.length - ((address * 2) % ctx.eeprom.length)),
            (address * 2) % ctx.eeprom.length,
          );
          ms = 3.4 * data.length; // EEPROM write, tWD_EEPROM 3.4 ms a byte
        } else {
          // One page per PAGE_SIZE words from the loaded address (the assembler loop).
          const at = address * 2;
          for (let off = 0; off < data.length; off += ctx.chip.pageSize) {
            ms += ctx.programPage(at + off, data.subarray(off, off + ctx.chip.pageSize));
          }
        }
        if (ms > 0) yield { waitMs: ms };
        ctx.onCommand(ch);
        ctx.send([INSYNC, OK]);
      } else {
        alive = !failed();
      }
    } else if (ch === Stk.READ_PAGE) {
      const h = yield* getN(3);
      const length = (h[0]! << 8) | h[1]!;
      const end = yield* getch();
      if (end === CRC_EOP) {
        const at = address * 2;
        const bytes =
          h[2] === 0x45
            ? ctx.eeprom.slice(at % ctx.eeprom.length, (at % ctx.eeprom.length) + length)
            : readFlash(ctx, at, length);
        ctx.onCommand(ch);
        ctx.send([INSYNC, ...bytes, OK]);
      }
    } else if (ch === Stk.READ_SIGN) {
      alive = yield* respond(sig, ch);
    } else {
      alive = !failed();
    }
    if (!alive) return;
  }
}

/** Flash bytes from `address`, wrapping at the end of the flash as the address counter does. */
function readFlash(ctx: AvrBootContext, address: number, length: number): Uint8Array {
  const size = ctx.chip.flashSize;
  const out = new Uint8Array(length);
  for (let i = 0; i < length;) {
    const at = (address + i) % size;
    const n = Math.min(length - i, size - at);
    out.set(ctx.flash.read(at, n), i);
    i += n;
  }
  return out;
}
