/**
 * A simulated Arduino AVR board on a serial wire (../serial-wire.ts): the chip (flash with its
 * boot section, EEPROM, fuses), reset, the watchdog that ends a bootloader session, and the
 * bootloader itself as a program that reads bytes (stk500v1-boot.ts, stk500v2-boot.ts,
 * caterina.ts). The application is not executed: once started, the board just runs it.
 *
 * Reset and start-up follow the ATmega datasheets: the Arduino low fuse 0xFF selects a crystal
 * with 16K CK + 65 ms start-up after reset (ATmega328P §13.4 table 13-4), during which the UART
 * is off and bytes are lost. Auto-reset: on Uno/Nano/Mega boards, DTR asserted pulls RESET low
 * through a 100 nF capacitor, so a rising DTR resets the chip.
 */
import type { TimerHandle } from '../../core/clock.ts';
import type { AvrChip } from '../../protocols/avr/chips.ts';
import type { SerialSignals } from '../../transport/link.ts';
import { FlashModel, type FlashTiming } from '../flash-model.ts';
import type { DeviceSide, SimSerialDevice } from '../serial-wire.ts';

/** What a bootloader program waits for: `need` bytes, or `waitMs` of busy time. */
export type BootStep = { need: number } | { waitMs: number };
export type BootProgram = Generator<BootStep, void, Uint8Array>;

/** Fuse and lock bytes, as avrdude shows them. */
export interface AvrFuses {
  low: number;
  high: number;
  extended: number;
  lock: number;
}

/** What the chip offers its bootloader. */
export interface AvrBootContext {
  readonly chip: AvrChip;
  readonly flash: FlashModel;
  readonly eeprom: Uint8Array;
  readonly fuses: AvrFuses;
  /** First byte of the boot section (SPM cannot write from there on: lock bits BLB1 = 00). */
  readonly bootStart: number;
  send(bytes: ArrayLike<number>): void;
  /**
   * Sets the watchdog period; it restarts whenever the program reads a byte (optiboot calls
   * wdr in getch). On expiry the chip resets and, the reset being a watchdog one, the
   * bootloader starts the application.
   */
  watchdog(ms: number): void;
  /** The bootloader jumps to the application now. */
  startApplication(): void;
  /** Page erase then page write by SPM; returns the busy time in ms (0 inside the boot section). */
  programPage(address: number, data: Uint8Array): number;
  /** SPM page erase of the page holding `address`; busy time in ms (0 inside the boot section). */
  erasePage(address: number): number;
  /** SPM page write (bits only go 1 → 0); busy time in ms (0 inside the boot section). */
  writePage(address: number, data: Uint8Array): number;
  /** The chip's clock, ms (for work that overlaps receiving, as optiboot's early erase). */
  now(): number;
  /** Records an accepted command, for tests. */
  onCommand(opcode: number): void;
}

/**
 * ATmega SPM timing (ATmega328P datasheet §28.8 table 28-18 and ATmega2560 §30.8 "tWD_FLASH"):
 * page erase and page write each take 3.7–4.5 ms; no typical value is given, the model takes
 * the upper bound.
 */
const AVR_SPM_TIMING: FlashTiming = {
  sectorEraseMs: () => 4.5,
  programMs: () => 4.5,
  chipEraseMs: () => 9,
};

export interface AvrBoardOptions {
  chip: AvrChip;
  /** The bootloader program. */
  bootloader: (ctx: AvrBootContext) => BootProgram;
  /** Boot section size in bytes (the Arduino board's fuses). */
  bootSectionSize: number;
  fuses: AvrFuses;
  /** The bootloader's UART speed (8N1). Default 115200. */
  baudRate?: number;
  /** Watchdog period the bootloader starts with (optiboot: 1 s). */
  timeoutMs: number;
  /** Reset release to the first instruction (65 ms with the Arduino fuses). */
  startupMs?: number;
  /** DTR rising resets the chip (the auto-reset capacitor). Default true. */
  autoReset?: boolean;
  /**
   * Without control lines (TCP, pty): the bootloader runs from power-on, and a byte that
   * arrives while the application runs stands for the next tool opening the port, which on a
   * real board would pulse RESET through DTR: the chip resets (that byte is lost).
   */
  resetOnTraffic?: boolean;
  /**
   * The watchdog restarts on every byte the bootloader reads (default true); Caterina restarts
   * its timeout only on block commands, through `ctx.watchdog`.
   */
  kickOnEveryByte?: boolean;
  /**
   * On timeout, start the application only if there is one (first flash word not 0xFFFF), else
   * keep waiting (stk500boot.c recchar_timeout, Caterina.c).
   */
  timeoutNeedsApplication?: boolean;
  timing?: FlashTiming;
  /** What the boot section holds (so a full read-back shows a bootloader there). */
  bootImage?: Uint8Array;
}

export type AvrBoardState = 'off' | 'starting' | 'bootloader' | 'application';

/** One simulated AVR with its serial bootloader. */
export class AvrSimBoard implements SimSerialDevice {
  readonly chip: AvrChip;
  readonly flash: FlashModel;
  readonly eeprom: Uint8Array;
  readonly fuses: AvrFuses;
  readonly bootStart: number;
  /** Opcodes the bootloader accepted, in order (for tests). */
  readonly commandLog: number[] = [];
  /** Resets so far (power-on, auto-reset, watchdog). */
  resets = 0;
  /** Times the application was started. */
  applicationStarts = 0;
  protected side: DeviceSide | undefined;
  private readonly options: AvrBoardOptions;
  private stateValue: AvrBoardState = 'off';
  private program: BootProgram | undefined;
  private step: BootStep | undefined;
  private inbox: number[] = [];
  private timer: TimerHandle | undefined;
  private watchdogTimer: TimerHandle | undefined;
  private watchdogMs = 0;
  private dtr = false;

  constructor(options: AvrBoardOptions) {
    this.options = options;
    this.chip = options.chip;
    this.flash = new FlashModel({
      size: options.chip.flashSize,
      sectorSize: options.chip.pageSize,
      timing: options.timing ?? AVR_SPM_TIMING,
    });
    this.eeprom = new Uint8Array(options.chip.eepromSize).fill(0xff);
    this.fuses = options.fuses;
    this.bootStart = options.chip.flashSize - options.bootSectionSize;
    if (options.bootImage) {
      this.flash.load(this.bootStart, options.bootImage.subarray(0, options.bootSectionSize));
    }
  }

  get state(): AvrBoardState {
    return this.stateValue;
  }

  /** A reset through the RESET pin (button, auto-reset): the bootloader runs. */
  pressReset(): void {
    if (this.stateValue !== 'off') this.boot();
  }

  /** The bootloader, listening now (bridges without control lines, for each new client). */
  enterBootloader(): void {
    if (this.stateValue === 'off') return;
    this.stop('starting');
    this.resets++;
    this.side?.flushToHost();
    this.start();
  }

  // ---- SimSerialDevice ----------------------------------------------------------------------

  attach(side: DeviceSide): void {
    this.side = side;
    side.setFormat({
      baudRate: this.options.baudRate ?? 115_200,
      parity: 'none',
      dataBits: 8,
      stopBits: 1,
    });
  }

  powerOn(): void {
    // A power-on reset: optiboot and ATmegaBOOT start the application straight away
    // (optiboot.c: no EXTRF in MCUSR); without control lines the board waits in its bootloader.
    this.resets++;
    if (this.options.resetOnTraffic) this.start();
    else this.runApplication();
  }

  powerOff(): void {
    this.stop('off');
  }

  reset(): void {
    // A spontaneous (watchdog / brown-out) reset: not an external one, so the application runs.
    this.stop('starting');
    this.resets++;
    this.side?.flushToHost();
    this.runApplication();
  }

  signalsChanged(signals: Readonly<Required<SerialSignals>>): void {
    const rising = signals.dataTerminalReady && !this.dtr;
    this.dtr = signals.dataTerminalReady;
    // Bridges without control lines assert DTR for each client; no capacitor sees that edge.
    const wired = (this.options.autoReset ?? true) && !this.bridged;
    if (rising && wired && this.stateValue !== 'off') this.boot();
  }

  receive(data: Uint8Array): void {
    if (this.stateValue === 'application' && this.options.resetOnTraffic) {
      this.boot();
      return;
    }
    if (this.stateValue !== 'bootloader') return; // in reset, starting up, or running the app
    for (const b of data) this.inbox.push(b);
    this.pump();
  }

  // ---- internals ----------------------------------------------------------------------------

  protected runApplication(): void {
    this.stop('application');
    this.applicationStarts++;
    this.modeChanged('application');
  }

  /** Called when the bootloader or the application starts (native-USB boards re-enumerate). */
  protected modeChanged(mode: 'bootloader' | 'application'): void {
    void mode;
  }

  /** True when the board runs without control lines (TCP/pty bridges). */
  protected get bridged(): boolean {
    return this.options.resetOnTraffic ?? false;
  }

  private stop(state: AvrBoardState): void {
    const clock = this.side?.clock;
    if (clock && this.timer) clock.clearTimer(this.timer);
    if (clock && this.watchdogTimer) clock.clearTimer(this.watchdogTimer);
    this.timer = undefined;
    this.watchdogTimer = undefined;
    this.program = undefined;
    this.step = undefined;
    this.inbox = [];
    this.stateValue = state;
  }

  /** External reset: start-up time, then the bootloader. What the UART had not sent is lost. */
  protected boot(): void {
    this.stop('starting');
    this.resets++;
    this.side?.flushToHost();
    const clock = this.side?.clock;
    if (!clock) return;
    this.timer = clock.setTimer(this.options.startupMs ?? 65, () => {
      this.timer = undefined;
      this.start();
    });
  }

  protected start(): void {
    this.modeChanged('bootloader');
    this.stateValue = 'bootloader';
    this.watchdogMs = this.options.timeoutMs;
    this.kickWatchdog();
    this.program = this.options.bootloader(this.context());
    this.advance(new Uint8Array(0));
  }

  private context(): AvrBootContext {
    return {
      chip: this.chip,
      flash: this.flash,
      eeprom: this.eeprom,
      fuses: this.fuses,
      bootStart: this.bootStart,
      send: (bytes) => this.side?.send(Uint8Array.from(bytes)),
      watchdog: (ms) => {
        this.watchdogMs = ms;
        this.kickWatchdog();
      },
      startApplication: () => this.runApplication(),
      programPage: (address, data) => this.programPage(address, data),
      erasePage: (address) => this.erasePage(address),
      writePage: (address, data) => this.writePage(address, data),
      now: () => this.side?.clock.now() ?? 0,
      onCommand: (op) => this.commandLog.push(op),
    };
  }

  private programPage(address: number, data: Uint8Array): number {
    return this.erasePage(address) + this.writePage(address, data);
  }

  private erasePage(address: number): number {
    const pageSize = this.chip.pageSize;
    const page = address - (address % pageSize);
    if (page >= this.bootStart) return 0; // SPM may not touch the boot section (lock bits)
    return this.flash.eraseSector(page / pageSize);
  }

  private writePage(address: number, data: Uint8Array): number {
    const pageSize = this.chip.pageSize;
    const page = address - (address % pageSize);
    if (page >= this.bootStart) return 0;
    const room = Math.min(data.length, page + pageSize - address);
    return this.flash.program(address, data.subarray(0, room)).ms;
  }

  private kickWatchdog(): void {
    const clock = this.side?.clock;
    if (!clock) return;
    if (this.watchdogTimer) clock.clearTimer(this.watchdogTimer);
    this.watchdogTimer = clock.setTimer(this.watchdogMs, () => {
      this.watchdogTimer = undefined;
      if (this.options.timeoutNeedsApplication && !this.hasApplication()) {
        this.kickWatchdog();
        return;
      }
      this.resets++;
      this.runApplication();
    });
  }

  /** True when the first flash word is programmed (the bootloaders' "is there a sketch" test). */
  hasApplication(): boolean {
    return !this.flash.isErased(0, 2);
  }

  private advance(input: Uint8Array): void {
    const program = this.program;
    if (!program) return;
    const r = program.next(input);
    if (this.program !== program) return; // the program started the application
    if (r.done) {
      // The program stopped reading (e.g. optiboot waiting for its watchdog after a bad frame).
      this.program = undefined;
      this.step = undefined;
      return;
    }
    this.step = r.value;
    if ('waitMs' in r.value && this.side) {
      this.timer = this.side.clock.setTimer(r.value.waitMs, () => {
        this.timer = undefined;
        this.advance(new Uint8Array(0));
        this.pump();
      });
    }
  }

  private pump(): void {
    while (this.step && 'need' in this.step && this.inbox.length >= this.step.need) {
      const bytes = Uint8Array.from(this.inbox.splice(0, this.step.need));
      if (this.options.kickOnEveryByte ?? true) this.kickWatchdog();
      this.advance(bytes);
    }
  }
}

/** Reads `n` bytes inside a bootloader program: `const b = yield* getN(n)`. */
export function* getN(n: number): Generator<BootStep, Uint8Array, Uint8Array> {
  return yield { need: n };
}

/** Reads one byte. */
export function* getch(): Generator<BootStep, number, Uint8Array> {
  const b = yield { need: 1 };
  return b[0]!;
}
