/**
 * A simulated nRF52840 with MCUboot (swap using move, two slots per image) on its native USB
 * CDC ACM port. At every reset MCUboot reads the slot trailers (slots.ts) and, as
 * `boot_go` does: validates the secondary image before a test or permanent swap (an invalid
 * one is erased and not swapped), swaps, reverts a test image that was not confirmed before
 * this reset, then validates the primary image (header, SHA-256 TLV, signature by a configured
 * key, image-tools.ts) and starts it — or, when none is bootable or the recovery button is
 * held, stays in serial recovery (when built with it) or halts.
 *
 * The application is a Zephyr sample with MCUmgr over the same CDC ACM port as its console: it
 * prints its boot banner, may print log lines at any time, answers SMP (app-smp.ts) and, when
 * `selfConfirm` is set, confirms its own image at start (boot_write_img_confirmed). A reset
 * detaches USB; the port comes back when MCUboot has finished and the firmware has started USB.
 */
import type { TimerHandle } from '../../core/clock.ts';
import type { FlashModel } from '../flash-model.ts';
import type { DeviceSide, SimSerialDevice } from '../serial-wire.ts';
import { zephyrSmpHandler } from './app-smp.ts';
import { validateSlot, type SlotVerdict, type TrustedKey } from './image-tools.ts';
import { RECOVERY_RECEIVE_SIZE, recoverySmpHandler } from './recovery-smp.ts';
import {
  eraseTrailer,
  readTrailer,
  setFlag,
  swapSlots,
  swapType,
  writeMagic,
  type SlotPair,
} from './slots.ts';
import { SmpServer, type SmpTraffic } from './smp-server.ts';

export type McubootBoardState = 'off' | 'booting' | 'application' | 'recovery' | 'halted';

export interface McubootBoardOptions {
  flash: FlashModel;
  pairs: readonly SlotPair[];
  keys: readonly TrustedKey[];
  /** MCUboot built with serial recovery (CONFIG_MCUBOOT_SERIAL). */
  serialRecovery?: boolean;
  /** The recovery button is held at reset (recovery builds only). */
  recoveryButton?: boolean;
  /** The application confirms its own image when it starts. Default false. */
  selfConfirm?: boolean;
  allowUnsigned?: boolean;
  /** MCUmgr parameters of the application. Default 384 / 4 (Zephyr's netbuf defaults). */
  bufSize?: number;
  bufCount?: number;
  osInfo?: Readonly<Record<string, string>>;
  /** Time from reset to MCUboot's decision, and from there to USB being up, ms. */
  bootMs?: number;
  usbUpMs?: number;
  banner?: string;
  /**
   * The board has power of its own (an nRF52840 DK fed through its debug USB port, with the
   * nRF USB port carrying the CDC ACM link): pulling the CDC ACM cable takes only the port
   * away; the application, and an upload in progress (RAM), keep running. Default false: the
   * cable is the board's power.
   */
  externalPower?: boolean;
  /**
   * The console's UART speed when the board sits behind a USB-UART bridge (a J-Link or
   * CP2102 virtual COM port; 8N1). Default 115200; a native CDC ACM link ignores it.
   */
  baudRate?: number;
}

/**
 * Zephyr `os_mgmt` info fields (os_mgmt.c `os_mgmt_info`) of an nRF52840 DK build: kernel name,
 * node name ("unknown" without networking or Bluetooth), release, version, machine
 * (CONFIG_ARCH), processor (os_mgmt_processor.h: the CPU core), hardware platform
 * (CONFIG_BOARD), operating system. No build date ('b' needs CONFIG_MCUMGR_GRP_OS_INFO_BUILD_DATE_TIME).
 */
const NRF52840_OS_INFO: Readonly<Record<string, string>> = {
  s: 'Zephyr',
  n: 'unknown',
  r: 'v3.7.0',
  v: '3.7.0',
  m: 'arm',
  p: 'cortex-m4',
  i: 'nrf52840dk',
  o: 'Zephyr',
};

export class McubootSimBoard implements SimSerialDevice {
  state: McubootBoardState = 'off';
  /** What MCUboot decided at the last boot, for tests: "swap test", "revert", "invalid secondary: …". */
  readonly bootLog: string[] = [];
  resets = 0;
  server: SmpServer | undefined;
  /** Every SMP request answered since the board was made, across resets (for tests). */
  readonly traffic: SmpTraffic[] = [];
  private side: DeviceSide | undefined;
  private timer: TimerHandle | undefined;
  private noiseTimer: TimerHandle | undefined;

  constructor(readonly options: McubootBoardOptions) {}

  get flash(): FlashModel {
    return this.options.flash;
  }

  /** Presses or releases the recovery button (read at the next reset). */
  setRecoveryButton(held: boolean): void {
    this.options.recoveryButton = held;
  }

  /** Prints `text` on the console every `everyMs` while the application runs (0 stops it). */
  consoleNoise(text: string, everyMs: number): void {
    const side = this.side;
    if (this.noiseTimer && side) side.clock.clearTimer(this.noiseTimer);
    this.noiseTimer = undefined;
    if (!side || everyMs <= 0) return;
    const tick = (): void => {
      if (this.state === 'application') side.send(new TextEncoder().encode(text));
      this.noiseTimer = side.clock.setTimer(everyMs, tick);
    };
    this.noiseTimer = side.clock.setTimer(everyMs, tick);
  }

  /** Makes the board wait in serial recovery now (for TCP/pty bridges without a button). */
  enterRecovery(): void {
    if (!this.options.serialRecovery || this.state === 'off') return;
    this.stop();
    this.startRecovery();
  }

  // ---- SimSerialDevice ----------------------------------------------------------------------

  attach(side: DeviceSide): void {
    this.side = side;
    if (this.options.baudRate !== undefined) side.setFormat({ baudRate: this.options.baudRate });
  }

  powerOn(): void {
    if (this.options.externalPower && this.state !== 'off') return;
    this.boot(false);
  }

  powerOff(): void {
    if (this.options.externalPower) return;
    this.stop();
    this.state = 'off';
  }

  reset(): void {
    this.boot(true);
  }

  receive(data: Uint8Array): void {
    this.server?.receive(data);
  }

  // ---- boot ---------------------------------------------------------------------------------

  private stop(): void {
    if (this.timer && this.side) this.side.clock.clearTimer(this.timer);
    this.timer = undefined;
    this.server?.stop();
    this.server = undefined;
  }

  /** A chip reset: USB goes away, MCUboot runs, the firmware brings USB back. */
  private boot(detach: boolean): void {
    const side = this.side;
    if (!side) return;
    this.stop();
    this.resets++;
    this.state = 'booting';
    side.flushToHost();
    const workMs = this.runMcuboot();
    const downMs = (this.options.bootMs ?? 50) + workMs + (this.options.usbUpMs ?? 400);
    if (detach) side.reenumerate(downMs);
    this.timer = side.clock.setTimer(downMs, () => {
      this.timer = undefined;
      this.startFirmware();
    });
  }

  private decision: 'application' | 'recovery' | 'halted' = 'halted';

  /** bootutil_img_validate on one slot. */
  private validate(slot: { address: number; size: number }): SlotVerdict {
    const { flash } = this.options;
    return validateSlot((off, len) => flash.read(slot.address + off, len), slot.size, {
      keys: this.options.keys,
      allowUnsigned: this.options.allowUnsigned ?? false,
    });
  }

  /** boot_go: swap or revert, validate; returns the flash time it took. */
  private runMcuboot(): number {
    const { flash, pairs } = this.options;
    let ms = 0;
    const validate = (slot: { address: number; size: number }): SlotVerdict => this.validate(slot);
    if (this.options.serialRecovery && this.options.recoveryButton) {
      // A person holds the button through the reset, then lets go.
      this.options.recoveryButton = false;
      this.bootLog.push('recovery button held');
      this.decision = 'recovery';
      return 0;
    }
    let bootable = true;
    for (const [i, pair] of pairs.entries()) {
      const type = swapType(flash, pair);
      if (type === 'test' || type === 'perm') {
        const v = validate(pair.secondary);
        if (!v.ok) {
          this.bootLog.push(`image ${i}: invalid secondary (${v.reason}); erased`);
          ms += flash.eraseRange(pair.secondary.address, pair.secondary.size).ms;
        } else {
          const primaryLen = validate(pair.primary);
          const len = Math.max(v.bytes.length, primaryLen.ok ? primaryLen.bytes.length : 0);
          ms += swapSlots(flash, pair, len);
          ms += eraseTrailer(flash, pair.primary) + eraseTrailer(flash, pair.secondary);
          ms += writeMagic(flash, pair.primary) + setFlag(flash, pair.primary, 'copy_done');
          if (type === 'perm') ms += setFlag(flash, pair.primary, 'image_ok');
          this.bootLog.push(`image ${i}: swap ${type}`);
        }
      } else if (type === 'revert') {
        const a = validate(pair.primary);
        const b = validate(pair.secondary);
        const len = Math.max(a.ok ? a.bytes.length : 0, b.ok ? b.bytes.length : 0);
        ms += swapSlots(flash, pair, len);
        ms += eraseTrailer(flash, pair.primary) + eraseTrailer(flash, pair.secondary);
        ms += writeMagic(flash, pair.primary) + setFlag(flash, pair.primary, 'copy_done');
        ms += setFlag(flash, pair.primary, 'image_ok');
        this.bootLog.push(`image ${i}: revert`);
      }
      const primary = validate(pair.primary);
      if (!primary.ok) {
        this.bootLog.push(`image ${i}: primary not bootable (${primary.reason})`);
        bootable = false;
      }
    }
    this.decision = bootable ? 'application' : this.options.serialRecovery ? 'recovery' : 'halted';
    return ms;
  }

  private startFirmware(): void {
    if (this.decision === 'recovery') {
      this.startRecovery();
      return;
    }
    if (this.decision === 'halted') {
      this.state = 'halted';
      return;
    }
    this.state = 'application';
    const { flash, pairs } = this.options;
    if (this.options.selfConfirm) {
      for (const pair of pairs) {
        const t = readTrailer(flash, pair.primary);
        if (t.magic === 'good' && t.imageOk === 'unset') setFlag(flash, pair.primary, 'image_ok');
      }
    }
    const side = this.side!;
    side.send(
      new TextEncoder().encode(this.options.banner ?? '*** Booting Zephyr OS build v3.7.0 ***\r\n'),
    );
    this.server = new SmpServer({
      clock: side.clock,
      send: (b) => side.send(b),
      maxPacket: this.options.bufSize ?? 384,
      log: this.traffic,
      handler: zephyrSmpHandler({
        flash,
        pairs,
        bufSize: this.options.bufSize ?? 384,
        bufCount: this.options.bufCount ?? 4,
        osInfo: this.options.osInfo ?? NRF52840_OS_INFO,
        reset: () => this.resetSoon(),
      }),
    });
  }

  private startRecovery(): void {
    const side = this.side!;
    this.state = 'recovery';
    this.server = new SmpServer({
      clock: side.clock,
      send: (b) => side.send(b),
      maxPacket: RECOVERY_RECEIVE_SIZE - 4,
      log: this.traffic,
      handler: recoverySmpHandler({
        flash: this.options.flash,
        pairs: this.options.pairs,
        align: 4,
        valid: (slot) => this.validate(slot).ok,
        reset: () => this.resetSoon(),
      }),
    });
  }

  /** Zephyr and MCUboot reset 250 ms after the reset reply (CONFIG_MCUMGR_GRP_OS_RESET_MS). */
  private resetSoon(): void {
    const side = this.side;
    if (!side) return;
    this.timer = side.clock.setTimer(250, () => {
      this.timer = undefined;
      this.boot(true);
    });
  }
}
