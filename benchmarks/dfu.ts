/**
 * USB DFU in real time: our engine with the DfuSe driver (STM32F405 system bootloader,
 * src/sim/dfu/dfuse-sim.ts) and the DFU 1.1 driver (a generic device, generic-dfu-sim.ts), each
 * behind the fake navigator.usb on the modelled full-speed bus (usb-link-model.ts: 64-byte
 * packets, 1 ms frames, at most 19 full packets per frame). Compared with the bus limit (the
 * image's DNLOAD data stages alone) and with the flash model's erase + program time.
 */
import { equalBytes } from '../src/core/bytes.ts';
import { type Clock, realClock, VirtualClock } from '../src/core/clock.ts';
import { FlashJob } from '../src/job/engine.ts';
import type { Connector } from '../src/job/types.ts';
import { dfuDriver } from '../src/protocols/dfu/dfu-driver.ts';
import { dfuseDriver } from '../src/protocols/dfu/dfuse-driver.ts';
import { DfuseSimDevice } from '../src/sim/dfu/dfuse-sim.ts';
import { GenericDfuBoard } from '../src/sim/dfu/generic-dfu-sim.ts';
import { SimUsbBus } from '../src/sim/usb/sim-usb-device.ts';
import { UsbLinkModel } from '../src/sim/usb/usb-link-model.ts';
import type { FlashModel } from '../src/sim/flash-model.ts';
import { FakeUsb } from '../src/sim/web/fake-webusb.ts';
import type { UsbDeviceHandle } from '../src/transport/usb.ts';
import { requestUsbDevice } from '../src/transport/webusb.ts';
import { benchImage } from './images.ts';
import { dfuLimit, dfuseLimit, type Limit } from './limits.ts';
import { measureJob } from './measure-job.ts';
import { lateClock } from './timer-lateness.ts';
import { linkRow, type LinkRow, type Run } from './stm32.ts';

const KiB = 1024;
const USER_AGENT =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36';

interface Target {
  name: string;
  /** The protocol's limit for an image of `bytes` (limits.ts). */
  limit(bytes: number): Limit;
  address: number;
  imageBytes: number;
  transferSize: number;
  setup(clock: Clock, bus: SimUsbBus): { flash: FlashModel; vendorId: number };
  connector: Connector<UsbDeviceHandle>;
}

function targets(quick: boolean): Target[] {
  const q = quick ? 4 : 1;
  return [
    {
      name: 'STM32F405 DfuSe bootloader',
      address: 0x08000000,
      imageBytes: (256 * KiB) / q,
      transferSize: 2048,
      limit: (bytes) => {
        const flash = new DfuseSimDevice({ clock: realClock, bus: new SimUsbBus() }).flash;
        return dfuseLimit({
          imageBytes: bytes,
          transferSize: 2048,
          sectorEraseMs: flash.sectors
            .filter((s) => s.start < 0x08000000 + bytes)
            .map((s) => Math.ceil(flash.timing.sectorEraseMs(s.size))),
          blockPollMs: (n) => Math.ceil(flash.timing.programMs(n)),
        });
      },
      setup(clock, bus) {
        const device = new DfuseSimDevice({ clock, bus });
        bus.attach(device);
        return { flash: device.flash, vendorId: 0x0483 };
      },
      connector: dfuseDriver,
    },
    {
      // The device's own work takes no time, so the row shows what the protocol and the bus cost.
      name: 'generic DFU 1.1 device (no flash or manifestation time)',
      address: 0,
      imageBytes: (192 * KiB) / q,
      transferSize: 4096,
      limit: (bytes) => dfuLimit({ imageBytes: bytes, transferSize: 4096, blockPollMs: () => 0 }),
      setup(clock, bus) {
        const board = new GenericDfuBoard({
          clock,
          bus,
          startInDfuMode: true,
          transferSize: 4096,
          manifestMs: 0,
        });
        return { flash: board.flash, vendorId: 0x1209 };
      },
      connector: dfuDriver,
    },
  ];
}

async function flashOnce(t: Target, image: Uint8Array, clock: Clock): Promise<Run> {
  const bus = new SimUsbBus();
  const { flash, vendorId } = t.setup(clock, bus);
  const fake = new FakeUsb({ bus });
  const handle = await requestUsbDevice([{ vendorId }], {
    usb: fake.usb,
    userAgent: USER_AGENT,
    clock,
  });
  const job = new FlashJob({
    port: handle,
    connector: t.connector,
    source: { kind: 'unverified', name: 'app', address: t.address, data: image },
    allowUnverified: true,
    clock,
    // A full write, as the limit counts it (the delta suite measures the comparison).
    settings: { delta: false },
  });
  const { ms, phases, late } = await measureJob(job, clock, `dfu ${t.name}`);
  if (!equalBytes(flash.read(t.address, image.length), image)) {
    throw new Error(`dfu ${t.name}: the flash does not hold the image`);
  }
  let flashMs = flash.timing.programMs(image.length);
  for (const s of flash.sectors) {
    if (s.start >= t.address && s.start < t.address + image.length)
      flashMs += flash.timing.sectorEraseMs(s.size);
  }
  return { ms, phases, flashMs, late };
}

export async function runDfuSuite(options: {
  quick: boolean;
  log: (line: string) => void;
}): Promise<LinkRow[]> {
  const rows: LinkRow[] = [];
  const usb = new UsbLinkModel(realClock);
  for (const t of targets(options.quick)) {
    const image = benchImage('random', t.imageBytes, 5);
    const model = await flashOnce(t, image, new VirtualClock({ yieldToHost: setImmediate }));
    const real = await flashOnce(t, image, lateClock());
    // The DNLOAD data stages alone, as full packets back to back (19 per frame).
    const linkLimitMs = usb.dataStageMs(image.length);
    const row = linkRow(
      {
        target: t.name,
        link: `USB full speed, wTransferSize ${t.transferSize}`,
        imageBytes: t.imageBytes,
        linkLimitMs,
        rawBytesPerSecond: (64 * 1000) / usb.dataStageMs(64),
        protocolLimit: t.limit(t.imageBytes),
      },
      real,
      model,
    );
    rows.push(row);
    options.log(
      `dfu ${t.name} ${t.imageBytes / KiB} KiB: ${(real.ms / 1000).toFixed(2)} s, erase+write ${(row.transferMs / 1000).toFixed(2)} s ` +
        `(model ${(row.modelTransferMs / 1000).toFixed(2)} s), ` +
        `bus limit ${(linkLimitMs / 1000).toFixed(2)} s, flash ${(real.flashMs / 1000).toFixed(2)} s, ` +
        `protocol limit ${(row.protocolLimit!.ms / 1000).toFixed(2)} s (${row.ofProtocolModel!.toFixed(2)} modelled)`,
    );
  }
  return rows;
}
