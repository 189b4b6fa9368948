/**
 * The Arduino Leonardo: an ATmega32U4 with native USB, and Caterina, its AVR109 bootloader
 * (ArduinoCore-avr bootloaders/caterina/Caterina.c).
 *
 * How the board gets into its bootloader: the sketch's USB serial port (2341:8036) watches for
 * the "1200-baud touch" — the host sets 1200 baud and drops DTR (opens at 1200 and closes) —
 * then stores the boot key 0x7777 and lets the watchdog reset the chip 120 ms later (Arduino
 * core CDC.cpp, CDC_Setup). Caterina sees the key and runs; the sketch's port disappears and the
 * bootloader's (2341:0036) appears. Caterina gives up after 8 s without a block command
 * (TIMEOUT_PERIOD, counted only while a sketch is present) and starts the sketch, whose port
 * comes back as 2341:8036. A RESET press (EXTRF) also runs the bootloader.
 *
 * Without control lines (TCP/pty), nothing can re-enumerate: the bridged board stays on its one
 * port, starts in Caterina, and a byte arriving while the sketch runs stands for the touch.
 */
import type { SerialSignals } from '../../transport/link.ts';
import {
  AvrSimBoard,
  getN,
  getch,
  type AvrBoardOptions,
  type AvrBootContext,
  type BootProgram,
} from './board.ts';

const CR = 0x0d;
const ch = (c: string): number => c.charCodeAt(0);

/** USB identities of the Leonardo (Arduino boards.txt: leonardo.vid/pid, leonardo.build.pid). */
const LEONARDO_SKETCH_USB = { usbVendorId: 0x2341, usbProductId: 0x8036 } as const;
const LEONARDO_BOOT_USB = { usbVendorId: 0x2341, usbProductId: 0x0036 } as const;

/** Caterina.c CDC_Task, one command at a time. */
export function* caterina(ctx: AvrBootContext): BootProgram {
  let address = 0; // byte address (CurrAddress)
  const sig = ctx.chip.signature;
  ctx.watchdog(8000);
  for (;;) {
    const c = yield* getch();
    ctx.onCommand(c);
    switch (String.fromCharCode(c)) {
      case 'E':
        ctx.watchdog(500); // Timeout = TIMEOUT_PERIOD - 500
        ctx.send([CR]);
        break;
      case 'T':
        yield* getch();
        ctx.send([CR]);
        break;
      case 'L':
      case 'P':
        ctx.send([CR]);
        break;
      case 't':
        ctx.send([0x44, 0x00]);
        break;
      case 'a':
        ctx.send([ch('Y')]);
        break;
      case 'A': {
        const a = yield* getN(2);
        address = ((a[0]! << 8) | a[1]!) << 1;
        ctx.send([CR]);
        break;
      }
      case 'p':
        ctx.send([ch('S')]);
        break;
      case 'S':
        ctx.send([...'CATERIN'].map(ch)); // the first 7 characters of "CATERINA"
        break;
      case 'V':
        ctx.send([ch('1'), ch('0')]);
        break;
      case 's':
        ctx.send([sig[2], sig[1], sig[0]]);
        break;
      case 'e': {
        let ms = 0;
        for (let a = 0; a < ctx.bootStart; a += ctx.chip.pageSize) {
          ms += ctx.programPage(a, new Uint8Array(ctx.chip.pageSize).fill(0xff));
        }
        yield { waitMs: ms };
        ctx.send([CR]);
        break;
      }
      case 'l':
        yield* getch(); // lock bits: SPM cannot change them from here in this model
        ctx.send([CR]);
        break;
      case 'r':
        ctx.send([ctx.fuses.lock]);
        break;
      case 'F':
        ctx.send([ctx.fuses.low]);
        break;
      case 'N':
        ctx.send([ctx.fuses.high]);
        break;
      case 'Q':
        ctx.send([ctx.fuses.extended]);
        break;
      case 'b':
        ctx.send([ch('Y'), ctx.chip.pageSize >> 8, ctx.chip.pageSize & 0xff]);
        break;
      case 'B':
      case 'g': {
        ctx.watchdog(8000); // "keep resetting the timeout counter" on block commands
        const h = yield* getN(3);
        const size = (h[0]! << 8) | h[1]!;
        const type = h[2]!;
        if (type !== ch('E') && type !== ch('F')) {
          ctx.send([ch('?')]);
          break;
        }
        if (c === ch('g')) {
          const out: number[] = [];
          for (let i = 0; i < size; i++) {
            if (type === ch('F'))
              out.push(ctx.flash.read((address + i) % ctx.chip.flashSize, 1)[0]!);
            else out.push(ctx.eeprom[((address >> 1) + i) % ctx.eeprom.length]!);
          }
          address += type === ch('F') ? size + (size % 2) : 2 * size;
          ctx.send(out);
        } else {
          const data = size > 0 ? yield* getN(size) : new Uint8Array(0);
          if (type === ch('F')) {
            const ms = ctx.programPage(address, data);
            address += size + (size % 2);
            if (ms > 0) yield { waitMs: ms };
          } else {
            for (let i = 0; i < size; i++)
              ctx.eeprom[((address >> 1) + i) % ctx.eeprom.length] = data[i]!;
            address += 2 * size;
            yield { waitMs: 3.4 * size };
          }
          ctx.send([CR]);
        }
        break;
      }
      case 'R': {
        const w = ctx.flash.read(address % ctx.chip.flashSize, 2);
        ctx.send([w[1]!, w[0]!]);
        break;
      }
      case 'd':
        ctx.send([ctx.eeprom[(address >> 1) % ctx.eeprom.length]!]);
        address += 2;
        break;
      case 'D':
        ctx.eeprom[(address >> 1) % ctx.eeprom.length] = yield* getch();
        address += 2;
        ctx.send([CR]);
        break;
      default:
        if (c !== 27) ctx.send([ch('?')]); // ESC is the AVR109 "sync" and gets no answer
    }
  }
}

const BOOT_IDENTITY = { ...LEONARDO_BOOT_USB, label: 'Simulated Arduino Leonardo (bootloader)' };

/** Time the host takes to see a USB device again after it detached (enumeration), ms. */
const ENUMERATION_MS = 500;

/** The Leonardo: the board model plus the 1200-baud touch and USB re-enumeration. */
export class LeonardoBoard extends AvrSimBoard {
  private hostBaud = 0;
  private hostDtr = false;
  /** Powered on blank: the first port already is Caterina's; its start does not re-enumerate. */
  private enumeratedAsBootloader = false;

  constructor(options: AvrBoardOptions) {
    super({ ...options, autoReset: false, kickOnEveryByte: false, timeoutNeedsApplication: true });
  }

  override powerOn(): void {
    // Caterina: after a power-on reset the sketch runs if there is one (PORF and word 0 set).
    if (this.bridged) {
      super.powerOn(); // waits in Caterina from the start
    } else if (this.hasApplication()) {
      this.resets++;
      this.runApplication();
    } else {
      // No sketch: Caterina is the first firmware to attach to USB, so the port appears under
      // the bootloader's identity (the port is not on the bus yet: only the identity changes).
      this.side?.reenumerate(ENUMERATION_MS, BOOT_IDENTITY);
      this.enumeratedAsBootloader = true;
      this.boot();
    }
  }

  override signalsChanged(signals: Readonly<Required<SerialSignals>>): void {
    const baud = this.side?.hostFormat?.baudRate;
    if (baud !== undefined) this.hostBaud = baud;
    const dropped = this.hostDtr && !signals.dataTerminalReady;
    this.hostDtr = signals.dataTerminalReady;
    if (dropped && this.hostBaud === 1200 && this.state === 'application') {
      // CDC.cpp: magic key, wdt_enable(WDTO_120MS); the watchdog reset runs Caterina.
      const side = this.side;
      side?.clock.setTimer(120, () => {
        if (this.state === 'application') this.boot();
      });
    }
  }

  protected override modeChanged(mode: 'bootloader' | 'application'): void {
    if (this.bridged) return;
    const first = this.enumeratedAsBootloader;
    this.enumeratedAsBootloader = false;
    if (first && mode === 'bootloader') return;
    this.side?.reenumerate(
      ENUMERATION_MS,
      mode === 'bootloader'
        ? BOOT_IDENTITY
        : { ...LEONARDO_SKETCH_USB, label: 'Simulated Arduino Leonardo' },
    );
  }
}
