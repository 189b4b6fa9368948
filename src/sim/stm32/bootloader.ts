/**
 * The device side of the STM32 USART bootloader (ST AN3155) as a coroutine: it asks for the
 * bytes it needs and for the time its flash operations take, and the board (board.ts) feeds it.
 * Written the way the real bootloader loops: autobaud on 0x7F, then forever "receive a command
 * and its complement, check, execute", answering NACK to anything malformed or refused and
 * returning to the command wait (AN3155 §2 and the flowcharts of §3.1–§3.12).
 */
import {
  ACK,
  Command,
  MassErase,
  NACK,
  SYNC,
  encodeCrcReply,
  encodeGetReply,
  encodeIdReply,
  encodeVersionReply,
  extendedEraseRemainder,
  xorChecksum,
} from '../../protocols/stm32/commands.ts';
import type { Stm32Chip } from '../../protocols/stm32/chips.ts';
import { stm32Crc } from '../../protocols/stm32/crc.ts';
import type { Stm32Memory } from './memory.ts';

/** What the coroutine asks of its runner. */
export type BootloaderStep = { need: number } | { waitMs: number };

/** Everything the bootloader touches outside its own loop. */
export interface BootloaderContext {
  chip: Stm32Chip;
  memory: Stm32Memory;
  /** Opcodes this bootloader accepts (and lists in GET). */
  commands: readonly number[];
  /** Transmits bytes to the host. */
  send(bytes: Uint8Array): void;
  /** Autobaud finished: the USART now runs at the host's speed, 8E1 (AN3155 §2). */
  lockBaud(): void;
  /** The chip resets: after option byte changes, readout (un)protect. */
  systemReset(): void;
  /**
   * GO: the bootloader is left for the code at `address` (AN3155 §3.5: stack pointer from the
   * word there, reset handler from the next): in flash the application, in RAM code the host
   * wrote (ram-code.ts). Called once the ACK is sent.
   */
  go(address: number): void;
  /** Called with each accepted opcode, for tests and logs. */
  onCommand?(op: number): void;
}

type Program = Generator<BootloaderStep, void, Uint8Array>;

function* need(n: number): Generator<BootloaderStep, Uint8Array, Uint8Array> {
  return yield { need: n };
}

function* wait(ms: number): Generator<BootloaderStep, void, Uint8Array> {
  if (ms > 0) yield { waitMs: ms };
}

/** Reads a 4-byte big-endian value with its XOR checksum; undefined if the checksum is wrong. */
function* readWord(): Generator<BootloaderStep, number | undefined, Uint8Array> {
  const f = yield* need(5);
  if (xorChecksum(f) !== 0) return undefined;
  return ((f[0]! << 24) | (f[1]! << 16) | (f[2]! << 8) | f[3]!) >>> 0;
}

/** The bootloader from reset: autobaud, then the command loop. Returns when the chip resets or leaves. */
export function* bootloaderProgram(ctx: BootloaderContext): Program {
  // AN3155 §2: wait for 0x7F, measure the speed, answer ACK. Anything else is not a valid
  // autobaud pattern and is ignored.
  for (;;) {
    const [b] = yield* need(1);
    if (b === SYNC) break;
  }
  ctx.lockBaud();
  ctx.send(Uint8Array.of(ACK));

  const ack = (): void => ctx.send(Uint8Array.of(ACK));
  const nack = (): void => ctx.send(Uint8Array.of(NACK));
  const mem = ctx.memory;

  for (;;) {
    const f = yield* need(2);
    const op = f[0]!;
    if ((op ^ f[1]!) !== 0xff || !ctx.commands.includes(op)) {
      nack();
      continue;
    }
    // AN3155 Table 2 note 2: under read protection only GET, GET_VERSION, GET_ID and
    // READOUT_UNPROTECT are served.
    const open =
      op === Command.GET ||
      op === Command.GET_VERSION ||
      op === Command.GET_ID ||
      op === Command.READOUT_UNPROTECT;
    if (mem.readProtected && !open) {
      nack();
      continue;
    }
    ctx.onCommand?.(op);
    ack();
    switch (op) {
      case Command.GET: // §3.1
        ctx.send(encodeGetReply({ version: ctx.chip.protocolVersion, commands: ctx.commands }));
        ack();
        break;
      case Command.GET_VERSION: // §3.2: version, then two option bytes kept at 0x00
        ctx.send(encodeVersionReply({ version: ctx.chip.protocolVersion, option1: 0, option2: 0 }));
        ack();
        break;
      case Command.GET_ID: // §3.3
        ctx.send(encodeIdReply(ctx.chip.productId));
        ack();
        break;
      case Command.READ_MEMORY: {
        // §3.4
        const address = yield* readWord();
        if (address === undefined || !mem.readable(address, 1)) {
          nack();
          break;
        }
        ack();
        const n = yield* need(2);
        const count = n[0]! + 1;
        if ((n[0]! ^ n[1]!) !== 0xff || !mem.readable(address, count)) {
          nack();
          break;
        }
        ack();
        ctx.send(mem.read(address, count));
        break;
      }
      case Command.GO: {
        // §3.5
        const address = yield* readWord();
        if (address === undefined || !mem.executable(address)) {
          nack();
          break;
        }
        ack();
        ctx.go(address);
        return;
      }
      case Command.WRITE_MEMORY: {
        // §3.6
        const address = yield* readWord();
        if (address === undefined || !mem.writable(address, 1)) {
          nack();
          break;
        }
        ack();
        const [n] = yield* need(1);
        const rest = yield* need(n! + 2);
        const data = rest.subarray(0, n! + 1);
        if (xorChecksum(rest, n) !== 0 || !mem.writable(address, data.length)) {
          nack();
          break;
        }
        const option = mem.isOptionBytes(address, data.length);
        yield* wait(mem.write(address, data));
        ack();
        if (option) {
          ctx.systemReset(); // AN3155 §3.6: writing option bytes resets the device
          return;
        }
        break;
      }
      case Command.ERASE: {
        // §3.7: 0xFF 0x00 = global erase, else N, N+1 page bytes, checksum
        const [first] = yield* need(1);
        if (first === 0xff) {
          const [cs] = yield* need(1);
          const ms = cs === 0x00 ? mem.massErase() : undefined;
          if (ms === undefined) nack();
          else {
            yield* wait(ms);
            ack();
          }
          break;
        }
        const rest = yield* need(first! + 2);
        const pages = Array.from(rest.subarray(0, first! + 1));
        const ms = xorChecksum(rest, first) === 0 ? mem.eraseSectors(pages) : undefined;
        if (ms === undefined) nack();
        else {
          yield* wait(ms);
          ack();
        }
        break;
      }
      case Command.EXTENDED_ERASE: {
        // §3.8: 2-byte N or special code (0xFFFF all, 0xFFFE bank 1, 0xFFFD bank 2), MSB first
        const head = yield* need(2);
        const n = (head[0]! << 8) | head[1]!;
        const rest = yield* need(extendedEraseRemainder(n));
        let ms: number | undefined;
        if (xorChecksum(rest, head[0]! ^ head[1]!) !== 0) ms = undefined;
        else if (n === MassErase.ALL) ms = mem.massErase();
        else if (n === MassErase.BANK1) ms = mem.massErase(1);
        else if (n === MassErase.BANK2) ms = mem.massErase(2);
        else if (n >= 0xfff0)
          ms = undefined; // reserved codes
        else {
          const pages: number[] = [];
          for (let i = 0; i <= n; i++) pages.push((rest[i * 2]! << 8) | rest[i * 2 + 1]!);
          ms = mem.eraseSectors(pages);
        }
        if (ms === undefined) nack();
        else {
          yield* wait(ms);
          ack();
        }
        break;
      }
      case Command.WRITE_PROTECT: {
        // §3.9: N, N+1 sector codes, checksum; then the option bytes change and the chip resets
        const [count] = yield* need(1);
        const rest = yield* need(count! + 2);
        const sectors = Array.from(rest.subarray(0, count! + 1));
        if (xorChecksum(rest, count) !== 0 || sectors.some((s) => !mem.sectors[s])) {
          nack();
          break;
        }
        for (const s of sectors) mem.writeProtected.add(s);
        ack();
        ctx.systemReset();
        return;
      }
      case Command.WRITE_UNPROTECT: // §3.10
        mem.writeProtected.clear();
        ack();
        ctx.systemReset();
        return;
      case Command.READOUT_PROTECT: // §3.11
        mem.readProtected = true;
        ack();
        ctx.systemReset();
        return;
      case Command.READOUT_UNPROTECT: {
        // §3.12: mass erase of the flash, RDP back to level 0, second ACK, system reset
        mem.writeProtected.clear();
        yield* wait(mem.massErase() ?? 0);
        mem.readProtected = false;
        ack();
        ctx.systemReset();
        return;
      }
      case Command.GET_CHECKSUM: {
        // Address, ACK, length, ACK, ACK when done, CRC + checksum (stm32flash stm32_crc_memory)
        const address = yield* readWord();
        if (address === undefined || address % 4 !== 0 || !mem.readable(address, 4)) {
          nack();
          break;
        }
        ack();
        const length = yield* readWord();
        if (
          length === undefined ||
          length === 0 ||
          length % 4 !== 0 ||
          !mem.readable(address, length)
        ) {
          nack();
          break;
        }
        ack();
        const crc = stm32Crc(mem.read(address, length));
        yield* wait(length / 4 / 1000); // the CRC unit takes 4 AHB cycles per word; ~1 µs per word
        ack();
        ctx.send(encodeCrcReply(crc));
        break;
      }
      default:
        break;
    }
  }
}
