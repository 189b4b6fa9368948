/**
 * A simulated STM32 board on a serial wire (../serial-wire.ts): power, reset and BOOT0, the
 * USART at 8E1 with autobaud, and the system bootloader (bootloader.ts) over the memories of
 * memory.ts. BOOT0 and NRST can be wired to the adapter's DTR and RTS so that reset sequences
 * (src/protocols/reset-sequence.ts) take the chip into its bootloader, as on boards with an
 * auto-boot circuit; otherwise BOOT0 is a jumper (strapped high: the bootloader starts at power-on).
 */
import type { TimerHandle } from '../../core/clock.ts';
import { UsageError } from '../../core/errors.ts';
import { chipById, chipByProductId, type Stm32Chip } from '../../protocols/stm32/chips.ts';
import { Command } from '../../protocols/stm32/commands.ts';
import type { SerialSignals } from '../../transport/link.ts';
import type { FlashTiming } from '../flash-model.ts';
import type { DeviceSide, SimSerialDevice } from '../serial-wire.ts';
import { bootloaderProgram, type BootloaderStep } from './bootloader.ts';
import { Stm32Memory } from './memory.ts';
import { runFromRam, type RamCodeOutcome } from './ram-code.ts';

/**
 * How the adapter's modem lines reach the chip.
 * - 'none': not connected; BOOT0 is the `boot0` strap.
 * - 'dtr-boot0-rts-nrst': DTR asserted drives BOOT0 high (through an inverter), RTS asserted
 *   holds NRST low (the usual auto-boot circuit; stm32flash `-i` sequences assume the same).
 */
export type Stm32Wiring = 'none' | 'dtr-boot0-rts-nrst';

export interface Stm32BoardOptions {
  /** Machine id ("stm32f4"), product id (0x413) or a chip table entry. */
  chip: string | number | Stm32Chip;
  /** BOOT0 strap when the lines do not drive it. Default 'high'. */
  boot0?: 'high' | 'low';
  wiring?: Stm32Wiring;
  /** Start with read protection (RDP level 1). */
  readProtected?: boolean;
  /** Also offer GET_CHECKSUM (0xA1). Default false (not listed by these parts' USART bootloaders). */
  checksumCommand?: boolean;
  timing?: FlashTiming | 'instant';
  uid?: Uint8Array;
  /** Time from reset release to the bootloader listening (AN2606 "bootloader startup time"). Default 5 ms. */
  startupMs?: number;
}

/**
 * 'application': started by GO into flash or a reset with BOOT0 low; 'ram-code': GO ran code
 * from SRAM that did not reset the chip (ram-code.ts): silent until the next reset.
 */
export type Stm32BoardState =
  'off' | 'reset' | 'starting' | 'bootloader' | 'application' | 'ram-code';

/** One simulated STM32 with its system bootloader. */
export class Stm32SimBoard implements SimSerialDevice {
  readonly chip: Stm32Chip;
  readonly memory: Stm32Memory;
  readonly commands: readonly number[];
  /** Opcodes accepted so far, in order (for tests). */
  readonly commandLog: number[] = [];
  /** Number of resets (power-on, NRST, system reset, injected). */
  resets = 0;
  private side: DeviceSide | undefined;
  private readonly options: Stm32BoardOptions & { boot0?: 'high' | 'low' };
  private stateValue: Stm32BoardState = 'off';
  private program: Generator<BootloaderStep, void, Uint8Array> | undefined;
  private step: BootloaderStep | undefined;
  private inbox: number[] = [];
  private timer: TimerHandle | undefined;
  private lines: Readonly<Required<SerialSignals>> = {
    dataTerminalReady: false,
    requestToSend: false,
    break: false,
  };

  constructor(options: Stm32BoardOptions) {
    const c = options.chip;
    const chip =
      typeof c === 'object' ? c : typeof c === 'number' ? chipByProductId(c) : chipById(c);
    if (!chip) {
      const label =
        typeof c === 'number' ? `0x${c.toString(16)}` : typeof c === 'string' ? c : c.name;
      throw new UsageError(`Unknown STM32 chip ${label}`);
    }
    this.chip = chip;
    this.options = { ...options };
    this.memory = new Stm32Memory({
      chip,
      ...(options.timing === undefined ? {} : { timing: options.timing }),
      ...(options.uid === undefined ? {} : { uid: options.uid }),
      readProtected: options.readProtected ?? false,
    });
    this.commands = options.checksumCommand
      ? [...chip.commands, Command.GET_CHECKSUM]
      : chip.commands;
  }

  get state(): Stm32BoardState {
    return this.stateValue;
  }

  /** Where the application was started by GO, if it was. */
  applicationAddress: number | undefined;

  /** How the last code GO ran from SRAM ended (for tests and logs). */
  lastRamCode: RamCodeOutcome | undefined;

  /**
   * Sets the BOOT0 strap (the jumper) and resets the chip, as a person does to enter the
   * bootloader by hand: 'high' starts the bootloader, 'low' the application.
   */
  setBoot0(level: 'high' | 'low'): void {
    this.options.boot0 = level;
    if (this.stateValue !== 'off') this.boot();
  }

  /**
   * BOOT0 high and a reset that finished a moment ago: the bootloader waits for 0x7F right
   * away. For bridges without control lines (TCP, pty), which do this for every new client, so
   * that a tool's first 0x7F is not lost in the chip's start-up time.
   */
  enterBootloader(): void {
    this.options.boot0 = 'high';
    if (this.stateValue === 'off') return;
    this.stop('starting');
    this.resets++;
    this.side?.flushToHost();
    this.start();
  }

  // ---- SimSerialDevice ----------------------------------------------------------------------

  attach(side: DeviceSide): void {
    this.side = side;
    side.setFormat({ parity: 'even', dataBits: 8, stopBits: 1 });
  }

  powerOn(): void {
    this.boot();
  }

  powerOff(): void {
    this.stop('off');
  }

  reset(): void {
    this.boot();
  }

  signalsChanged(signals: Readonly<Required<SerialSignals>>): void {
    const before = this.lines;
    this.lines = signals;
    if (this.options.wiring !== 'dtr-boot0-rts-nrst' || this.stateValue === 'off') return;
    if (signals.requestToSend && !before.requestToSend) this.stop('reset');
    else if (!signals.requestToSend && (before.requestToSend || this.stateValue === 'reset'))
      this.boot();
  }

  receive(data: Uint8Array): void {
    if (this.stateValue !== 'bootloader') return; // in reset, starting up or running the app
    const side = this.side;
    if (
      side &&
      this.inAutobaud &&
      side.hostFormat &&
      side.hostFormat.baudRate !== side.format.baudRate
    ) {
      // Autobaud measures the host's speed from the edges of what it receives (AN2606 §"USART").
      side.setFormat({ baudRate: side.hostFormat.baudRate });
    }
    for (const b of data) this.inbox.push(b);
    this.pump();
  }

  // ---- internals ----------------------------------------------------------------------------

  private inAutobaud = false;

  /** BOOT0 as the chip samples it at reset. */
  private get boot0(): boolean {
    if (this.options.wiring === 'dtr-boot0-rts-nrst' && this.lines.dataTerminalReady) return true;
    return (this.options.boot0 ?? 'high') === 'high';
  }

  private stop(state: Stm32BoardState): void {
    if (this.timer && this.side) this.side.clock.clearTimer(this.timer);
    this.timer = undefined;
    this.program = undefined;
    this.step = undefined;
    this.inbox = [];
    this.stateValue = state;
  }

  /** Runs `fn` once what was just sent has left the transmitter (2 character times). */
  private afterSend(fn: () => void): void {
    const side = this.side;
    if (!side) return;
    this.stop('starting');
    const charMs = (11 / side.format.baudRate) * 1000;
    this.timer = side.clock.setTimer(2 * charMs, () => {
      this.timer = undefined;
      fn();
    });
  }

  /**
   * Reset released: start from the reset vector; BOOT0 selects system memory or flash. An
   * external reset (power, NRST, watchdog) loses what the USART had not sent yet.
   */
  private boot(external = true): void {
    this.stop('starting');
    this.resets++;
    if (external) this.side?.flushToHost();
    if (this.options.wiring === 'dtr-boot0-rts-nrst' && this.lines.requestToSend) {
      this.stateValue = 'reset';
      return;
    }
    const clock = this.side?.clock;
    if (!clock) return;
    this.timer = clock.setTimer(this.options.startupMs ?? 5, () => {
      this.timer = undefined;
      this.start();
    });
  }

  /** Runs from the reset vector: the application, or the bootloader when BOOT0 is high. */
  private start(): void {
    if (!this.boot0) {
      this.stateValue = 'application';
      this.applicationAddress = this.chip.flash.start;
      return;
    }
    this.stateValue = 'bootloader';
    this.inAutobaud = true;
    this.program = bootloaderProgram({
      chip: this.chip,
      memory: this.memory,
      commands: this.commands,
      send: (bytes) => this.side?.send(bytes),
      lockBaud: () => {
        this.inAutobaud = false;
      },
      // The last ACK leaves the USART before the reset takes effect.
      systemReset: () => this.afterSend(() => this.boot(false)),
      go: (address) => this.go(address),
      onCommand: (op) => this.commandLog.push(op),
    });
    this.advance(new Uint8Array(0));
  }

  /** GO: the application in flash, or the code a host wrote to SRAM (ram-code.ts). */
  private go(address: number): void {
    const flash = this.memory.flashRange;
    if (address >= flash.start && address < flash.end) {
      this.stop('application');
      this.applicationAddress = address;
      return;
    }
    const outcome = runFromRam(this.memory, address);
    this.lastRamCode = outcome;
    if (outcome.kind === 'system-reset') {
      // SYSRESETREQ: the ACK leaves the USART, then the chip restarts and samples BOOT0.
      this.afterSend(() => this.boot(false));
    } else {
      this.stop('ram-code');
    }
  }

  private advance(input: Uint8Array): void {
    const program = this.program;
    if (!program) return;
    const r = program.next(input);
    if (this.program !== program) return; // the program reset or left the bootloader
    if (r.done) {
      this.program = undefined;
      this.step = undefined;
      return;
    }
    this.step = r.value;
    if ('waitMs' in r.value && this.side) {
      const ms = r.value.waitMs;
      this.timer = this.side.clock.setTimer(ms, () => {
        this.timer = undefined;
        this.advance(new Uint8Array(0));
        this.pump();
      });
    }
  }

  private pump(): void {
    while (this.step && 'need' in this.step && this.inbox.length >= this.step.need) {
      const bytes = Uint8Array.from(this.inbox.splice(0, this.step.need));
      this.advance(bytes);
    }
  }
}
