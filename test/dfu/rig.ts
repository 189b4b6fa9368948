/** Test rigs: simulated DFU devices behind the fake navigator.usb, reached through webusb.ts. */
import { VirtualClock } from '../../src/core/clock.ts';
import { createLogger, type LogEntry } from '../../src/core/log.ts';
import { DfuseSimDevice, type DfuseSimOptions } from '../../src/sim/dfu/dfuse-sim.ts';
import { GenericDfuBoard, type GenericDfuBoardOptions } from '../../src/sim/dfu/generic-dfu-sim.ts';
import { SimUsbBus } from '../../src/sim/usb/sim-usb-device.ts';
import { FakeUsb, type FakeUsbOptions } from '../../src/sim/web/fake-webusb.ts';
import { WebUsbWatcher, requestUsbDevice, type WebUsbOptions } from '../../src/transport/webusb.ts';

export const LINUX_UA =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36';
export const WINDOWS_UA =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36';

function baseRig(fakeOptions: Partial<FakeUsbOptions> = {}, userAgent = LINUX_UA) {
  const clock = new VirtualClock({ yieldToHost: setImmediate });
  const bus = new SimUsbBus();
  const log: LogEntry[] = [];
  const logger = createLogger(
    (e) => log.push(e),
    () => clock.now(),
  );
  let fake: FakeUsb | undefined;
  const web = (): WebUsbOptions => {
    fake ??= new FakeUsb({ bus, ...fakeOptions });
    return { usb: fake.usb, userAgent, clock };
  };
  return {
    clock,
    bus,
    log,
    logger,
    web,
    get fake() {
      return fake!;
    },
  };
}

export async function dfuseRig(
  options: Partial<Omit<DfuseSimOptions, 'clock' | 'bus'>> = {},
  fakeOptions: Partial<FakeUsbOptions> = {},
  userAgent = LINUX_UA,
) {
  const rig = baseRig(fakeOptions, userAgent);
  const device = new DfuseSimDevice({ clock: rig.clock, bus: rig.bus, ...options });
  rig.bus.attach(device);
  const webOptions = rig.web();
  const handle = await requestUsbDevice([{ vendorId: 0x0483, productId: 0xdf11 }], webOptions);
  return { ...rig, device, handle, webOptions };
}

export async function genericRig(
  options: Partial<Omit<GenericDfuBoardOptions, 'clock' | 'bus'>> = {},
) {
  const rig = baseRig({});
  const board = new GenericDfuBoard({ clock: rig.clock, bus: rig.bus, ...options });
  const webOptions = rig.web();
  const handle = await requestUsbDevice([{ vendorId: 0x1209 }], webOptions);
  const watcher = new WebUsbWatcher(webOptions);
  return { ...rig, board, handle, webOptions, watcher };
}

/** Deterministic bytes for images. */
export function pattern(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
