/**
 * Rig for running native libusb programs against simulated USB boards: the boards' buses are
 * served in this process (src/sim/node/usb-server.ts, real time, ports picked by the OS) and
 * the program is started through the runner of `npm run sim:usb-run`
 * (tools/usb-bridge/usb-run.mjs), which builds and preloads the libusb stand-in.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { realClock } from '../../src/core/clock.ts';
import type { SimUsbBus, SimUsbDevice } from '../../src/sim/usb/sim-usb-device.ts';
import { serveUsbOnTcp, type RunningUsbServer } from '../../src/sim/node/usb-server.ts';

export const DFU_UTIL = '/usr/bin/dfu-util';
const RUNNER = new URL('../../tools/usb-bridge/usb-run.mjs', import.meta.url).pathname;

/** Why the native tests cannot run here, or undefined when they can. */
export function missingTools(): string | undefined {
  if (!existsSync(DFU_UTIL)) return 'dfu-util is not installed (sudo apt-get install dfu-util)';
  if (spawnSync('gcc', ['--version']).status !== 0)
    return 'gcc is not installed (sudo apt-get install gcc)';
  if (!existsSync('/usr/include/libusb-1.0/libusb.h'))
    return 'the libusb headers are not installed (sudo apt-get install libusb-1.0-0-dev)';
  return undefined;
}

const servers: RunningUsbServer[] = [];

/** Serves `bus` on a free port; `onIdleClient` as in UsbServeOptions. */
export async function serve(bus: SimUsbBus, onIdleClient?: () => void): Promise<string> {
  const s = await serveUsbOnTcp({
    bus,
    clock: realClock,
    host: '127.0.0.1',
    port: 0,
    ...(onIdleClient ? { onIdleClient } : {}),
  });
  servers.push(s);
  return `${s.host}:${s.port}`;
}

/** Stops every server started by `serve`. */
export async function closeServers(): Promise<void> {
  await Promise.all(servers.splice(0).map((s) => s.close()));
}

/** Runs `command args` with its libusb calls answered by the simulators at `addresses`. */
export function runWithBridge(
  addresses: readonly string[],
  command: string,
  args: readonly string[],
  cwd: string,
): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [RUNNER, addresses.join(','), '--', command, ...args], {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, out }));
  });
}

/** Resolves with the next device that `event`s on `bus` and matches `accept`. */
export function nextBusEvent(
  bus: SimUsbBus,
  event: 'attach' | 'detach',
  accept: (d: SimUsbDevice) => boolean = () => true,
): Promise<SimUsbDevice> {
  return new Promise((resolve) => {
    const off = (event === 'attach' ? bus.onAttach : bus.onDetach).call(bus, (d) => {
      if (!accept(d)) return;
      off();
      resolve(d);
    });
  });
}
