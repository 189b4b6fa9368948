/**
 * The device side of STK500v2 (Atmel AVR068) as the Arduino Mega 2560's bootloader answers it
 * (ArduinoCore-avr bootloaders/stk500v2/stk500boot.c, built with _FIX_ISSUE_505_ and
 * _FIX_ISSUE_181_):
 *
 * - messages are collected by its state machine: bytes before MESSAGE_START are skipped, any
 *   sequence number is taken, a wrong TOKEN or checksum drops the message silently;
 * - SIGN_ON answers "AVRISP_2"; GET_PARAMETER HW 0x0F, SW 2.10, others 0; SET_PARAMETER and
 *   ENTER_PROGMODE_ISP OK; READ_SIGNATURE_ISP, READ_FUSE_ISP, READ_LOCK_ISP and SPI_MULTI read
 *   the real signature, fuse and lock bytes;
 * - CHIP_ERASE_ISP erases nothing: it rewinds the erase pointer to 0 and answers CMD_FAILED
 *   (issue 543); PROGRAM_FLASH_ISP erases the page at the erase pointer (while it is below the
 *   boot section) and moves it one page on, then programs the page at the loaded address;
 * - LOAD_ADDRESS takes a 32-bit word address; reads and writes move it on;
 * - LEAVE_PROGMODE_ISP answers, then the application starts 100 ms later (LED delay);
 * - the "!!!" monitor (ENABLE_MONITOR) is not modelled.
 */
import { MESSAGE_START, TOKEN, V2, V2Param, V2Status } from '../../protocols/avr/stk500v2.ts';
import { getch, type AvrBootContext, type BootProgram } from './board.ts';

const OK = V2Status.CMD_OK;

/** The bootloader program; `sessionTimeoutMs` is recchar_timeout's limit once talking. */
export function stk500boot(sessionTimeoutMs: number) {
  return function* program(ctx: AvrBootContext): BootProgram {
    let address = 0; // byte address
    let eraseAddress = 0;
    let first = true;
    const sig = ctx.chip.signature;
    for (;;) {
      // ---- collect one message (ST_START … ST_PROCESS) ----
      let body: Uint8Array | undefined;
      let seq = 0;
      while (!body) {
        let c = yield* getch();
        if (first) {
          first = false;
          ctx.watchdog(sessionTimeoutMs);
        }
        if (c !== MESSAGE_START) continue;
        let checksum = MESSAGE_START;
        seq = yield* getch();
        checksum ^= seq;
        const hi = yield* getch();
        const lo = yield* getch();
        checksum ^= hi ^ lo;
        const length = (hi << 8) | lo;
        c = yield* getch();
        if (c !== TOKEN) continue;
        checksum ^= c;
        const data = new Uint8Array(length);
        for (let i = 0; i < length; i++) {
          data[i] = yield* getch();
          checksum ^= data[i]!;
        }
        if ((yield* getch()) === checksum) body = data;
      }
      // ---- process ----
      const cmd = body[0] ?? 0;
      let answer: number[];
      let leave = false;
      switch (cmd) {
        case V2.SPI_MULTI: {
          const op = body[4] ?? 0;
          let value = 0;
          if (op === 0x30) value = sig[Math.min(body[6] ?? 0, 2)] ?? 0;
          else if (op === 0x50) value = ctx.fuses.low;
          else if (op === 0x58) value = ctx.fuses.high;
          answer = [cmd, OK, 0, op, 0, value, OK];
          break;
        }
        case V2.SIGN_ON:
          answer = [cmd, OK, 8, ...[...'AVRISP_2'].map((ch) => ch.charCodeAt(0))];
          break;
        case V2.GET_PARAMETER: {
          const p = body[1];
          const value =
            p === V2Param.HW_VER
              ? 0x0f
              : p === V2Param.SW_MAJOR
                ? 2
                : p === V2Param.SW_MINOR
                  ? 0x0a
                  : 0;
          answer = [cmd, OK, value];
          break;
        }
        case V2.LEAVE_PROGMODE_ISP:
          leave = true;
          answer = [cmd, OK];
          break;
        case V2.SET_PARAMETER:
        case V2.ENTER_PROGMODE_ISP:
          answer = [cmd, OK];
          break;
        case V2.READ_SIGNATURE_ISP:
          answer = [cmd, OK, sig[Math.min(body[4] ?? 0, 2)] ?? 0, OK];
          break;
        case V2.READ_LOCK_ISP:
          answer = [cmd, OK, ctx.fuses.lock, OK];
          break;
        case V2.READ_FUSE_ISP: {
          const value =
            body[2] === 0x50
              ? body[3] === 0x08
                ? ctx.fuses.extended
                : ctx.fuses.low
              : ctx.fuses.high;
          answer = [cmd, OK, value, OK];
          break;
        }
        case V2.CHIP_ERASE_ISP:
          eraseAddress = 0;
          answer = [cmd, V2Status.CMD_FAILED];
          break;
        case V2.LOAD_ADDRESS:
          // 32-bit word address shifted into a 32-bit byte address: bit 31 falls off.
          address =
            ((((body[1] ?? 0) << 24) |
              ((body[2] ?? 0) << 16) |
              ((body[3] ?? 0) << 8) |
              (body[4] ?? 0)) <<
              1) >>>
            0;
          answer = [cmd, OK];
          break;
        case V2.PROGRAM_FLASH_ISP:
        case V2.PROGRAM_EEPROM_ISP: {
          const size = ((body[1] ?? 0) << 8) | (body[2] ?? 0);
          const data = body.subarray(10, 10 + size);
          let ms = 0;
          if (cmd === V2.PROGRAM_FLASH_ISP) {
            if (eraseAddress < ctx.bootStart) {
              ms += ctx.flash.eraseSector(eraseAddress / ctx.chip.pageSize);
              eraseAddress += ctx.chip.pageSize;
            }
            if (address < ctx.bootStart) ms += ctx.flash.program(address, data).ms;
            address += size + (size % 2);
          } else {
            const at = (address >>> 1) % ctx.eeprom.length;
            ctx.eeprom.set(data.subarray(0, ctx.eeprom.length - at), at);
            address += 2 * size;
            ms += 3.4 * size; // tWD_EEPROM
          }
          if (ms > 0) yield { waitMs: ms };
          answer = [cmd, OK];
          break;
        }
        case V2.READ_FLASH_ISP:
        case V2.READ_EEPROM_ISP: {
          const size = ((body[1] ?? 0) << 8) | (body[2] ?? 0);
          let data: Uint8Array;
          if (cmd === V2.READ_FLASH_ISP) {
            const n = size + (size % 2);
            data = ctx.flash
              .read(
                address % ctx.chip.flashSize,
                Math.min(n, ctx.chip.flashSize - (address % ctx.chip.flashSize)),
              )
              .subarray(0, size);
            address += n;
          } else {
            const at = address % ctx.eeprom.length;
            data = ctx.eeprom.slice(at, at + size);
            address += size;
          }
          answer = [cmd, OK, ...data, OK];
          break;
        }
        default:
          answer = [cmd, V2Status.CMD_FAILED];
      }
      ctx.onCommand(cmd);
      const frame = [
        MESSAGE_START,
        seq,
        answer.length >> 8,
        answer.length & 0xff,
        TOKEN,
        ...answer,
      ];
      let checksum = 0;
      for (const b of frame) checksum ^= b;
      ctx.send([...frame, checksum]);
      if (leave) {
        yield { waitMs: 100 };
        ctx.startApplication();
        return;
      }
    }
  };
}
