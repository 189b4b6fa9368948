/**
 * The protocols the campaign runs, as data: which simulated board (from the board registry,
 * src/sim/boards.ts), which driver, which image and where it goes. Each entry builds a `Rig`:
 * one board on a fresh virtual clock, with the hooks the three fault kinds need (noise, a
 * confused board, the plug). Every job goes through `runFlashJob`, the runner the faces use.
 */
import { runFlashJob, type JobListeners } from '../src/job/runner.ts';
import type { Connector, JobResult, JobSettings } from '../src/job/types.ts';
import type { Logger } from '../src/core/log.ts';
import { createAvr109Driver } from '../src/protocols/avr/driver-avr109.ts';
import { createAvrStk500v1Driver } from '../src/protocols/avr/driver-stk500v1.ts';
import { createAvrStk500v2Driver } from '../src/protocols/avr/driver-stk500v2.ts';
import { connectDfu } from '../src/protocols/dfu/dfu-driver.ts';
import { dfuseDriver } from '../src/protocols/dfu/dfuse-driver.ts';
import { connectEsp } from '../src/protocols/esp/driver.ts';
import { createMcubootDriver } from '../src/protocols/mcuboot/driver.ts';
import { createStm32Driver } from '../src/protocols/stm32/driver.ts';
import type { AvrSimBoardHandle } from '../src/sim/avr/boards.ts';
import { createBoard, type SimBoard } from '../src/sim/boards.ts';
import { SimUsbBus } from '../src/sim/usb/sim-usb-device.ts';
import { UsbFaultInjector } from '../src/sim/usb/usb-faults.ts';
import { buildMcubootImage } from '../src/sim/mcuboot/image-tools.ts';
import { SIM_MCUBOOT_SECRET_KEY } from '../src/sim/mcuboot/boards.ts';
import { NRF52840_SLOTS } from '../src/sim/mcuboot/slots.ts';
import { SimPortWatcher, wirePortWatcher } from '../src/sim/port-watcher.ts';
import { Prng } from '../src/sim/prng.ts';
import type { ReplyFuzzer } from '../src/sim/reply-fuzzer.ts';
import type { SerialWire } from '../src/sim/serial-wire.ts';
import { FakeUsb } from '../src/sim/web/fake-webusb.ts';
import type { SerialPortHandle } from '../src/transport/link.ts';
import type { UsbDeviceHandle } from '../src/transport/usb.ts';
import { requestUsbDevice, WebUsbWatcher, type WebUsbOptions } from '../src/transport/webusb.ts';
import { CampaignClock } from './clock.ts';

export const PROTOCOLS = [
  'esp-rom',
  'esp-stub',
  'stm32',
  'dfu',
  'dfuse',
  'mcuboot-smp',
  'avr-stk500v1',
  'avr-stk500v2',
  'avr109',
] as const;
export type CampaignProtocol = (typeof PROTOCOLS)[number];

/** What a job needs from outside the rig. */
interface JobHooks {
  signal: AbortSignal;
  on: JobListeners;
  logger?: Logger;
}

/** One board on its own clock, ready for jobs and faults. */
export interface Rig {
  readonly clock: CampaignClock;
  readonly image: { address: number; data: Uint8Array };
  /** Runs one update of `image` through the job runner, on the port the board shows now. */
  flash(hooks: JobHooks): Promise<JobResult>;
  /** What the board's flash holds where the image goes. */
  readImage(): Uint8Array;
  /** What the board held there before the first update. */
  readonly oldImage: Uint8Array;
  /** Random link faults at `rate` per byte in each direction. */
  noise(seed: number, rate: number): void;
  /** Lets `fuzzer` rewrite the board's replies. */
  confuse(fuzzer: ReplyFuzzer, seed: number): void;
  /** Faults injected so far (noise and confusion). */
  faultCount(): number;
  /** Pulls the USB cable. */
  unplug(): void;
  /** Plugs it back in (the board powers up as it would). */
  replug(): void;
}

export interface ProtocolSetup {
  id: CampaignProtocol;
  /** What is flashed, for the report. */
  label: string;
  /** Board preset (src/sim/boards.ts). */
  board: string;
  link: string;
  imageBytes: number;
  build(seed: number): Promise<Rig>;
}

const KiB = 1024;
const USER_AGENT =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36';

/** Deterministic image bytes (an xorshift stream), different per `salt`. */
function imageBytes(length: number, salt: number): Uint8Array {
  const prng = new Prng(0x5eed0000 + salt);
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = prng.int(256);
  return out;
}

interface SerialSpec {
  board: string;
  address: number;
  data: Uint8Array;
  /** Firmware in flash before the update; default none (or the board's own). */
  old?: Uint8Array;
  connector: (board: SimBoard & { wire: SerialWire }) => Connector<SerialPortHandle>;
  settings?: JobSettings;
  /** Where the image is read back from, when not `address`. */
  readAt?: number;
}

async function serialRig(spec: SerialSpec, seed: number): Promise<Rig> {
  const clock = new CampaignClock();
  const images = spec.old ? [{ address: spec.address, data: spec.old }] : [];
  const board = createBoard(spec.board, { clock, seed, images }) as SimBoard & { wire: SerialWire };
  const wire = board.wire;
  const connector = spec.connector(board);
  const readAt = spec.readAt ?? spec.address;
  const read = (): Uint8Array => board.flash.read(readAt, spec.data.length);
  let fuzzer: ReplyFuzzer | undefined;
  return Promise.resolve({
    clock,
    image: { address: spec.address, data: spec.data },
    oldImage: read(),
    readImage: read,
    flash: (hooks) =>
      runFlashJob({
        port: wire.port!,
        connector,
        source: { kind: 'unverified', name: 'app', address: spec.address, data: spec.data },
        allowUnverified: true,
        clock,
        signal: hooks.signal,
        on: hooks.on,
        ...(hooks.logger ? { logger: hooks.logger } : {}),
        settings: spec.settings ?? {},
      }),
    noise: (s, rate) =>
      wire.setFaults({
        seed: s,
        dropRate: rate / 4,
        corruptRate: rate / 4,
        duplicateRate: rate / 4,
        delayByteRate: rate / 4,
        delayMs: 100,
      }),
    confuse: (f) => {
      fuzzer = f;
      wire.setReplyTamper((reply) => f.rewrite(reply));
    },
    faultCount: () =>
      wire.stats.dropped +
      wire.stats.corrupted +
      wire.stats.duplicated +
      wire.stats.delayed +
      (fuzzer?.total ?? 0),
    unplug: () => wire.unplug(),
    replug: () => {
      wire.plug();
      if (!wire.port) board.enterBootloader?.();
    },
  });
}

interface UsbSpec {
  board: string;
  address: number;
  data: Uint8Array;
  vendorId: number;
  connector: (web: WebUsbOptions) => Connector<UsbDeviceHandle>;
  settings?: JobSettings;
}

async function usbRig(spec: UsbSpec, seed: number): Promise<Rig> {
  const clock = new CampaignClock();
  const bus = new SimUsbBus();
  const board = createBoard(spec.board, { clock, seed, usbBus: bus });
  const fake = new FakeUsb({ bus, grantAll: true });
  const web: WebUsbOptions = { usb: fake.usb, userAgent: USER_AGENT, clock };
  const connector = spec.connector(web);
  const read = (): Uint8Array => board.flash.read(spec.address, spec.data.length);
  let injector: UsbFaultInjector | undefined;
  let fuzzer: ReplyFuzzer | undefined;
  // Every face (run-time and DFU mode) of the board gets the same faults.
  const arm = (): void => {
    for (const d of bus.devices) d.faults = injector;
  };
  bus.onAttach((d) => (d.faults = injector));
  return {
    clock,
    image: { address: spec.address, data: spec.data },
    oldImage: read(),
    readImage: read,
    flash: async (hooks) => {
      const port = await clock.hold(requestUsbDevice([{ vendorId: spec.vendorId }], web));
      return runFlashJob({
        port,
        connector,
        source: { kind: 'unverified', name: 'app', address: spec.address, data: spec.data },
        allowUnverified: true,
        clock,
        signal: hooks.signal,
        on: hooks.on,
        ...(hooks.logger ? { logger: hooks.logger } : {}),
        settings: spec.settings ?? {},
      });
    },
    noise: (s, rate) => {
      injector = new UsbFaultInjector({ seed: s, byteRate: rate });
      arm();
    },
    confuse: (f, s) => {
      fuzzer = f;
      injector = new UsbFaultInjector({ seed: s, fuzzer: f, stallRate: 0.01 });
      arm();
    },
    faultCount: () => {
      const c = injector?.counts;
      return (c ? c.retry + c.error + c.lost + c.stall : 0) + (fuzzer?.total ?? 0);
    },
    unplug: () => {
      for (const d of [...bus.devices]) bus.detach(d);
    },
    replug: () => board.enterBootloader?.(),
  };
}

const ESP_APP = 0x10000;
const STM32_FLASH = 0x08000000;

/** The table: one entry per protocol. */
export const SETUPS: readonly ProtocolSetup[] = [
  {
    id: 'esp-rom',
    label: 'ESP32 ROM loader (no stub), 32 KiB app at 0x10000',
    board: 'esp32',
    link: 'CP2102, 115200 baud',
    imageBytes: 32 * KiB,
    build: (seed) =>
      serialRig(
        {
          board: 'esp32',
          address: ESP_APP,
          data: imageBytes(32 * KiB, 1),
          old: imageBytes(32 * KiB, 101),
          connector: () => ({
            id: 'esp-serial',
            connect: (port, o) => connectEsp(port, { ...o, useStub: 'never' }),
          }),
        },
        seed,
      ),
  },
  {
    id: 'esp-stub',
    label: 'ESP32 with the flasher stub, 32 KiB app at 0x10000',
    board: 'esp32',
    link: 'CP2102, 115200 baud then the stub at the driver default speed',
    imageBytes: 32 * KiB,
    build: (seed) =>
      serialRig(
        {
          board: 'esp32',
          address: ESP_APP,
          data: imageBytes(32 * KiB, 2),
          old: imageBytes(32 * KiB, 102),
          connector: () => ({
            id: 'esp-serial',
            connect: (port, o) => connectEsp(port, { ...o, useStub: 'always' }),
          }),
        },
        seed,
      ),
  },
  {
    id: 'stm32',
    label: 'STM32F407 USART bootloader (AN3155), 32 KiB at 0x08000000',
    board: 'stm32f4',
    link: 'CP2102, 115200 baud 8E1',
    imageBytes: 32 * KiB,
    build: (seed) =>
      serialRig(
        {
          board: 'stm32f4',
          address: STM32_FLASH,
          data: imageBytes(32 * KiB, 3),
          old: imageBytes(32 * KiB, 103),
          connector: () => createStm32Driver(),
        },
        seed,
      ),
  },
  {
    id: 'dfu',
    label: 'generic DFU 1.1 gadget (run-time → DFU mode), 64 KiB',
    board: 'dfu11-gadget',
    link: 'USB full speed (fake WebUSB)',
    imageBytes: 64 * KiB,
    build: (seed) =>
      usbRig(
        {
          board: 'dfu11-gadget',
          address: 0,
          data: imageBytes(64 * KiB, 4),
          vendorId: 0x1209,
          connector: (web) => ({
            id: 'dfu',
            connect: (device, o) => connectDfu(device, { ...o, watcher: new WebUsbWatcher(web) }),
          }),
          settings: { timeouts: { connect: 45_000 } },
        },
        seed,
      ),
  },
  {
    id: 'dfuse',
    label: 'STM32F405 DfuSe system bootloader, 64 KiB at 0x08000000',
    board: 'stm32f405-dfuse',
    link: 'USB full speed (fake WebUSB)',
    imageBytes: 64 * KiB,
    build: (seed) =>
      usbRig(
        {
          board: 'stm32f405-dfuse',
          address: STM32_FLASH,
          data: imageBytes(64 * KiB, 5),
          vendorId: 0x0483,
          connector: () => dfuseDriver,
        },
        seed,
      ),
  },
  {
    id: 'mcuboot-smp',
    label: 'nRF52840 with MCUboot, signed 16 KiB image over SMP (swap, test, confirm)',
    board: 'nrf52840-mcuboot',
    link: 'USB CDC ACM',
    imageBytes: 16 * KiB,
    build: (seed) =>
      serialRig(
        {
          board: 'nrf52840-mcuboot',
          address: NRF52840_SLOTS.primary.address,
          data: mcubootImage(),
          connector: (b) =>
            createMcubootDriver({ portWatcher: wirePortWatcher(b.wire), chip: 'nrf52840' }),
          settings: { timeouts: { reset: 60_000 } },
        },
        seed,
      ),
  },
  {
    id: 'avr-stk500v1',
    label: 'Arduino Uno (optiboot, STK500v1), 16 KiB sketch',
    board: 'uno',
    link: 'ATmega16U2, 115200 baud',
    imageBytes: 16 * KiB,
    build: (seed) => avrRig('uno', 6, seed),
  },
  {
    id: 'avr-stk500v2',
    label: 'Arduino Mega 2560 (stk500boot, STK500v2), 16 KiB sketch',
    board: 'mega2560',
    link: 'ATmega16U2, 115200 baud',
    imageBytes: 16 * KiB,
    build: (seed) => avrRig('mega2560', 7, seed),
  },
  {
    id: 'avr109',
    label: 'Arduino Leonardo (Caterina, AVR109), 16 KiB sketch',
    board: 'leonardo',
    link: 'native USB CDC (1200-baud touch)',
    imageBytes: 16 * KiB,
    build: (seed) => avrRig('leonardo', 8, seed),
  },
];

function avrRig(name: string, salt: number, seed: number): Promise<Rig> {
  return serialRig(
    {
      board: name,
      address: 0,
      data: imageBytes(16 * KiB, salt),
      old: imageBytes(16 * KiB, 100 + salt),
      connector: (b) => {
        const baudRate = (b as unknown as AvrSimBoardHandle).baudRate;
        if (b.protocol === 'avr-stk500v1') return createAvrStk500v1Driver({ baudRate });
        if (b.protocol === 'avr-stk500v2') return createAvrStk500v2Driver({ baudRate });
        return createAvr109Driver({ baudRate, portWatcher: new SimPortWatcher(b.wire) });
      },
    },
    seed,
  );
}

let mcuboot: Uint8Array | undefined;

/** A 16 KiB MCUboot image 1.3.0 signed with the simulator's key (the boards trust it). */
function mcubootImage(): Uint8Array {
  mcuboot ??= buildMcubootImage({
    version: { major: 1, minor: 3, revision: 0, build: 0 },
    body: imageBytes(16 * KiB - 0x200 - 0x100, 9),
    secretKey: SIM_MCUBOOT_SECRET_KEY,
  });
  return mcuboot;
}

/** The setup for `id`. */
export function setupOf(id: CampaignProtocol): ProtocolSetup {
  return SETUPS.find((s) => s.id === id)!;
}
