/**
 * A simulated ESP chip on a serial wire: reset and boot-mode logic, ROM boot messages, the
 * serial loader (loader.ts) in download mode, and a quiet application otherwise.
 *
 * Boot mode follows the strapping pin at the moment reset is released, as on the real chip
 * (esptool docs "Boot Mode Selection"):
 * - `auto-reset`: the two-transistor circuit of Espressif dev boards (ESP32-DevKitC schematic):
 *   EN is pulled low while RTS is asserted and DTR is not; IO0/GPIO9 is pulled low while DTR is
 *   asserted and RTS is not. Both asserted (what Linux does on open) changes nothing.
 * - `usb-jtag-serial`: the USB-Serial/JTAG controller of the S3/C3/C6/H2 (TRM "USB Serial/JTAG
 *   Controller"): DTR=1,RTS=0 requests download boot, DTR=0,RTS=1 holds the chip in reset,
 *   and releasing reset boots the mode requested when reset began; DTR=0,RTS=0 clears the
 *   request. This is the sequence esptool's `usb_reset` drives.
 * - `none`: control lines are not wired (a TCP or pty bridge); use `enterDownloadMode()`.
 */
import { md5 } from '@noble/hashes/legacy.js';
import { concatBytes } from '../../core/bytes.ts';
import { sleep, type TimerHandle } from '../../core/clock.ts';
import { SlipDecoder, slipEncode } from '../../framing/slip.ts';
import type { EspChip } from '../../protocols/esp/chips.ts';
import { ESP_ROM_BAUD, STUB_GREETING } from '../../protocols/esp/constants.ts';
import type { SerialSignals } from '../../transport/link.ts';
import type { FlashModel } from '../flash-model.ts';
import type { DeviceSide, SimSerialDevice } from '../serial-wire.ts';
import { CommandScript, garbledReply } from './command-script.ts';
import { appBootLog, readAppDescription, romBanner, type ResetCause } from './boot-log.ts';
import { LoaderSession } from './loader.ts';
import type { LoaderAction } from './loader-types.ts';
import { EspRegisterFile } from './registers.ts';

interface ReadFlashState {
  acked: number;
  wake: (() => void) | undefined;
}

export type ResetCircuit = 'auto-reset' | 'usb-jtag-serial' | 'none';
export type EspMode = 'off' | 'reset' | 'download' | 'app';

export interface EspDeviceOptions {
  chip: EspChip;
  flash: FlashModel;
  /** Factory MAC (6 bytes). */
  mac: Uint8Array;
  resetCircuit: ResetCircuit;
  /**
   * The host talks to the chip's own USB-Serial/JTAG port, whatever resets it (a board that
   * starts in its bootloader has no reset circuit). Default: the reset circuit is that port's.
   */
  usbSerialJtag?: boolean;
  /**
   * USB-native boards: when the application starts, the USB device re-enumerates and comes
   * back after this many ms (a new port on the host). Undefined: the port stays.
   */
  reenumerateOnAppBootMs?: number;
  /** Offset of the application the ROM log describes. Default 0x10000. */
  appOffset?: number;
  /** Extra eFuse/register words (address → value), e.g. chip revision bits. */
  registers?: ReadonlyMap<number, number>;
}

/**
 * Delay from the host releasing RTS to the chip leaving reset: EN charges through the dev
 * board's 10 kΩ / 1 µF RC network (ESP32-DevKitC schematic), about one time constant. This is
 * why esptool can switch DTR and RTS in two steps without a glitch resetting the chip.
 */
const EN_RC_DELAY_MS = 10;
/** Time from reset release to the first ROM character (ROM start-up), ms. */
const ROM_STARTUP_MS = 2;
/** Time the second-stage bootloader and the app take to print their first lines, ms. */
const APP_STARTUP_MS = 30;
/** The ESP8266 ROM prints its banner at 74880 baud (26 MHz crystal; esptool docs "Boot log"). */
const ESP8266_BANNER_BAUD = 74880;

/** JEDEC id of a Winbond W25Q-series flash of `size` bytes (capacity code = log2(size)). */
function winbondJedecId(size: number): number {
  return 0xef | (0x40 << 8) | (Math.round(Math.log2(size)) << 16);
}

/** A simulated ESP chip (ROM loader + boot behaviour). */
export class EspDevice implements SimSerialDevice {
  readonly chip: EspChip;
  readonly flash: FlashModel;
  readonly mac: Uint8Array;
  /** What the chip printed and answered, as text, for tests and the demo console. */
  readonly log: string[] = [];
  /** Scripted faults per command, and the record of the commands the loader received. */
  readonly script = new CommandScript();
  /** Resets into download mode still to boot the application instead (`missDownloadResets`). */
  private downloadResetsToMiss = 0;
  private side: DeviceSide | undefined;
  private modeNow: EspMode = 'off';
  private epoch = 0;
  private loader: LoaderSession | undefined;
  private registers: EspRegisterFile | undefined;
  private decoder = new SlipDecoder();
  private frames: Uint8Array[] = [];
  private processing = false;
  private inReset = false;
  private downloadRequest = false;
  private latchedDownload = false;
  private readonly options: EspDeviceOptions;
  private enRelease: TimerHandle | undefined;
  private readFlash: ReadFlashState | undefined;
  private lastSignals: Required<SerialSignals> = {
    dataTerminalReady: false,
    requestToSend: false,
    break: false,
  };

  constructor(options: EspDeviceOptions) {
    this.options = options;
    this.chip = options.chip;
    this.flash = options.flash;
    this.mac = options.mac.slice();
  }

  /** What the chip is doing now. */
  get mode(): EspMode {
    return this.modeNow;
  }

  /** The speed of the chip's UART now (the ROM starts at 115200; CHANGE_BAUDRATE changes it). */
  get baudRate(): number | undefined {
    return this.side?.format.baudRate;
  }

  /**
   * The next `count` resets that ask for download mode boot the application instead, as on a
   * board whose auto-reset circuit releases IO0 before EN rises (a slow or missing capacitor):
   * a tool must try again, or another reset sequence.
   */
  missDownloadResets(count: number): void {
    this.downloadResetsToMiss = count;
  }

  /** True while the simulated flasher stub runs. */
  get stubRunning(): boolean {
    return this.loader?.isStub ?? false;
  }

  attach(side: DeviceSide): void {
    this.side = side;
  }

  powerOn(): void {
    this.inReset = false;
    this.boot({ download: this.io0Low(this.lastSignals), cause: 'power-on' });
  }

  powerOff(): void {
    this.stop('off');
  }

  /** A watchdog reset: boots by the current strapping (normally the application). */
  reset(): void {
    if (this.modeNow === 'off') return;
    this.boot({ download: this.io0Low(this.lastSignals), cause: 'watchdog' });
  }

  /** Restarts straight into download mode, as if BOOT were held while pressing RESET. */
  enterDownloadMode(): void {
    this.boot({ download: true, cause: 'power-on' });
  }

  signalsChanged(signals: Readonly<Required<SerialSignals>>): void {
    this.lastSignals = { ...signals };
    const side = (): DeviceSide => this.side!;
    if (this.modeNow === 'off') return;
    const dtr = signals.dataTerminalReady;
    const rts = signals.requestToSend;
    switch (this.options.resetCircuit) {
      case 'none':
        return;
      case 'auto-reset': {
        const enLow = rts && !dtr;
        if (enLow) {
          if (this.enRelease) side().clock.clearTimer(this.enRelease);
          this.enRelease = undefined;
          if (!this.inReset) {
            this.inReset = true;
            this.stop('reset');
          }
        } else if (this.inReset && !this.enRelease) {
          // EN rises through its RC network; the chip leaves reset (and samples IO0) later.
          this.enRelease = side().clock.setTimer(EN_RC_DELAY_MS, () => {
            this.enRelease = undefined;
            this.inReset = false;
            const download = this.strapped(this.io0Low(this.lastSignals));
            this.boot({ download, cause: 'power-on' });
          });
        }
        return;
      }
      case 'usb-jtag-serial': {
        if (dtr && !rts) this.downloadRequest = true;
        if (!dtr && rts && !this.inReset) {
          this.inReset = true;
          this.latchedDownload = this.downloadRequest;
          this.stop('reset');
        } else if (!rts && this.inReset) {
          this.inReset = false;
          this.boot({ download: this.strapped(this.latchedDownload), cause: 'usb' });
        }
        if (!dtr && !rts) this.downloadRequest = false;
        return;
      }
    }
  }

  receive(data: Uint8Array): void {
    if (this.readFlash && this.modeNow === 'download') {
      // READ_FLASH acknowledgements arrive as 4-byte SLIP packets.
      for (const frame of this.decodeFrames(data)) {
        if (frame.length === 4) {
          this.readFlash.acked = new DataView(frame.buffer, frame.byteOffset, 4).getUint32(0, true);
          this.readFlash.wake?.();
        }
      }
      return;
    }
    if (this.modeNow !== 'download') return;
    for (const frame of this.decodeFrames(data)) {
      // The stub receives into two buffers: the one its main loop works on and one more. After
      // a frame the receiver has no buffer until the main loop takes that frame, so a frame that
      // completes while one already waits is dropped (esp-flasher-stub slip.c `slip_rearm`,
      // frame_buffer.c). An idle main loop takes a waiting frame at once.
      const room = this.processing ? 1 : 2;
      if (this.stubRunning && this.frames.length >= room) continue;
      this.frames.push(frame);
    }
    void this.pump();
  }

  private decodeFrames(data: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    let input = data;
    for (;;) {
      try {
        out.push(...this.decoder.push(input));
        return out;
      } catch {
        // A garbled frame is dropped, as the ROM drops it; keep decoding what follows.
        input = new Uint8Array(0);
      }
    }
  }

  /** The boot mode a reset circuit's reset gives: download, unless `missDownloadResets` says. */
  private strapped(download: boolean): boolean {
    if (!download || this.downloadResetsToMiss === 0) return download;
    this.downloadResetsToMiss--;
    return false;
  }

  private io0Low(signals: Readonly<Required<SerialSignals>>): boolean {
    if (this.options.resetCircuit !== 'auto-reset') return false;
    return signals.dataTerminalReady && !signals.requestToSend;
  }

  private stop(mode: EspMode): void {
    this.epoch++;
    this.modeNow = mode;
    this.loader = undefined;
    this.frames = [];
    this.decoder.reset();
    const reading = this.readFlash;
    this.readFlash = undefined;
    reading?.wake?.();
  }

  private boot(options: { download: boolean; cause: ResetCause }): void {
    const side = this.side;
    if (!side) return;
    // The ROM starts, prints its banner, and only then listens: bytes before that are lost.
    this.stop('reset');
    const epoch = this.epoch;
    side.setFormat({ baudRate: ESP_ROM_BAUD, dataBits: 8, parity: 'none', stopBits: 1 });
    side.clock.setTimer(ROM_STARTUP_MS, () => {
      if (epoch !== this.epoch) return;
      this.modeNow = options.download ? 'download' : 'app';
      if (options.download) this.startLoader(side);
      this.print(romBanner(this.chip.id, options));
      if (!options.download) this.startApp(epoch, false, options.cause !== 'power-on');
    });
  }

  private startLoader(side: DeviceSide): void {
    this.registers = new EspRegisterFile({
      chip: this.chip,
      mac: this.mac,
      flashJedecId: winbondJedecId(this.flash.size),
      baudRate: () => side.format.baudRate,
      ...(this.options.registers ? { extra: this.options.registers } : {}),
    });
    this.loader = new LoaderSession(
      {
        chip: this.chip,
        flash: this.flash,
        registers: this.registers,
        usbSerialJtag:
          this.options.usbSerialJtag ?? this.options.resetCircuit === 'usb-jtag-serial',
        wait: (ms) => sleep(side.clock, ms),
      },
      () => side.clock.now(),
    );
  }

  /**
   * The second-stage bootloader and the application start (no protocol; output only). A
   * USB-native board re-enumerates unless this is the power-on boot right after plugging in.
   */
  private startApp(epoch: number, skipRom: boolean, reenumerate: boolean): void {
    const side = this.side!;
    if (skipRom) this.stop('app');
    const current = skipRom ? this.epoch : epoch;
    side.clock.setTimer(APP_STARTUP_MS, () => {
      if (current !== this.epoch) return;
      const appOffset = this.options.appOffset ?? 0x10000;
      const app = this.flash.read(appOffset, Math.min(256, this.flash.size - appOffset));
      this.print(
        appBootLog({
          bootloader: this.flash.read(this.chip.bootloaderOffset, 4),
          app: readAppDescription(app),
          appPresent: app[0] === 0xe9,
        }),
      );
      const downMs = this.options.reenumerateOnAppBootMs;
      if (downMs !== undefined && reenumerate) side.reenumerate(downMs);
    });
  }

  private print(text: string): void {
    const side = this.side!;
    this.log.push(text);
    if (this.chip.id === 'esp8266' && text.includes('ets Jan')) {
      side.setFormat({ baudRate: ESP8266_BANNER_BAUD });
      side.send(new TextEncoder().encode(text));
      side.setFormat({ baudRate: ESP_ROM_BAUD });
      return;
    }
    side.send(new TextEncoder().encode(text));
  }

  private async pump(): Promise<void> {
    if (this.processing) return;
    this.processing = true;
    try {
      while (this.frames.length > 0 && this.loader) {
        const epoch = this.epoch;
        const loader = this.loader;
        // The stub's main loop takes the next command only when the flash work of the block it
        // acknowledged is done (esp-flasher-stub main.c, `handle_command`'s post-process).
        const busy = loader.busyMs;
        if (busy > 0) {
          await sleep(this.side!.clock, busy);
          continue;
        }
        const frame = this.frames.shift()!;
        // The ROM ignores a frame that is not a command packet; the stub answers a bad header.
        const screened = loader.screen(frame);
        if (screened.kind === 'ignore') continue;
        if (screened.kind === 'answer') {
          this.side!.send(slipEncode(loader.answer(screened.op, screened.error)));
          continue;
        }
        const fault = this.script.take(screened.cmd);
        if (fault === 'drop') continue;
        if (typeof fault === 'object') {
          this.side!.send(slipEncode(loader.answer(screened.cmd.op, fault.error)));
          continue;
        }
        const result = await loader.handle(screened.cmd);
        if (epoch !== this.epoch) continue; // reset while working: the replies are lost
        const side = this.side!;
        if (fault === 'garble') side.send(garbledReply(screened.cmd.op));
        else if (result.replies.length > 0) {
          side.send(concatBytes(...result.replies.map((r) => slipEncode(r))));
        }
        if (result.after) await this.afterReplies(result.after, epoch);
      }
    } finally {
      this.processing = false;
    }
  }

  private async afterReplies(action: LoaderAction, epoch: number): Promise<void> {
    const side = this.side!;
    switch (action.kind) {
      case 'baud':
        side.setFormat({ baudRate: action.baudRate });
        return;
      case 'reboot':
        await sleep(side.clock, 5);
        if (epoch === this.epoch)
          this.boot({ download: this.io0Low(this.lastSignals), cause: 'software' });
        return;
      case 'run-user-code':
        await sleep(side.clock, 5);
        if (epoch === this.epoch) this.startApp(epoch, true, true);
        return;
      case 'stub-started':
        await sleep(side.clock, 1);
        if (epoch === this.epoch) side.send(slipEncode(STUB_GREETING));
        return;
      case 'read-flash':
        await this.streamFlash(action, epoch);
        return;
    }
  }

  /** esptool serial protocol "Reading Flash" (stub): data packets with acks, then the MD5. */
  private async streamFlash(
    a: Extract<LoaderAction, { kind: 'read-flash' }>,
    epoch: number,
  ): Promise<void> {
    const side = this.side!;
    const state: ReadFlashState = { acked: 0, wake: undefined };
    this.readFlash = state;
    let sent = 0;
    while (state.acked < a.size) {
      if (epoch !== this.epoch) return;
      if (sent < a.size && sent - state.acked < a.packetSize * a.maxInFlight) {
        const n = Math.min(a.packetSize, a.size - sent);
        side.send(slipEncode(this.flash.read(a.address + sent, n)));
        sent += n;
        continue;
      }
      await new Promise<void>((resolve) => (state.wake = resolve));
      state.wake = undefined;
    }
    this.readFlash = undefined;
    side.send(slipEncode(md5(this.flash.read(a.address, a.size))));
  }
}
