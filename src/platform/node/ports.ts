/**
 * Serial ports on this computer, through node-serialport's `SerialPort.list()` (udev on Linux,
 * IOKit on macOS, SetupAPI on Windows), and a PortWatcher that finds a board again after it
 * re-enumerated, by polling that list (node-serialport has no hot-plug events).
 */
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { SerialPort } from 'serialport';
import { sleep } from '../../core/clock.ts';
import { AbortError, TimeoutError } from '../../core/errors.ts';
import type { PortInfo, PortWatcher, SerialPortHandle } from '../../transport/link.ts';
import { NodeSerialPortHandle, type NodeSerialOptions } from './serial.ts';

/** One serial port as the operating system lists it. */
interface NodePortEntry {
  path: string;
  info: PortInfo;
  manufacturer?: string | undefined;
  serialNumber?: string | undefined;
}

/** Lists the serial ports; an injectable function so tests can stand in for the OS. */
export type PortLister = () => Promise<NodePortEntry[]>;

const hex4 = (n: number): string => n.toString(16).padStart(4, '0');

function parseId(text: string | undefined): number | undefined {
  if (text === undefined || !/^[0-9a-f]{1,4}$/i.test(text)) return undefined;
  return parseInt(text, 16);
}

/** Port facts from USB ids: the label the other faces use ("USB serial 303a:1001"). */
export function portInfoFor(
  path: string,
  ids: { vendorId?: number | undefined; productId?: number | undefined },
): PortInfo {
  const info: PortInfo = {
    label:
      ids.vendorId !== undefined && ids.productId !== undefined
        ? `${path} (USB serial ${hex4(ids.vendorId)}:${hex4(ids.productId)})`
        : path,
  };
  if (ids.vendorId !== undefined) info.usbVendorId = ids.vendorId;
  if (ids.productId !== undefined) info.usbProductId = ids.productId;
  return info;
}

/** The fields of `SerialPort.list()` entries used here (@serialport/bindings-interface `PortInfo`). */
interface ListedPort {
  path: string;
  manufacturer?: string | undefined;
  serialNumber?: string | undefined;
  vendorId?: string | undefined;
  productId?: string | undefined;
}

/** The ports `SerialPort.list()` reports, with their USB ids parsed. */
export const listSerialPorts: PortLister = async () => {
  const ports = (await SerialPort.list()) as readonly ListedPort[];
  return ports.map((p) => ({
    path: p.path,
    info: portInfoFor(p.path, { vendorId: parseId(p.vendorId), productId: parseId(p.productId) }),
    manufacturer: p.manufacturer,
    serialNumber: p.serialNumber,
  }));
};

function sameFile(a: string, b: string): boolean {
  if (a === b) return true;
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

/**
 * The USB ids of a Linux tty device from sysfs: `/sys/class/tty/NAME/device` leads to the USB
 * interface, whose parent holds `idVendor` and `idProduct`. No ids for a tty on no USB device (a
 * UART on a header) or one sysfs does not list (a pty); undefined when there is no sysfs. One
 * lookup costs a few file reads, where listing every port through udev takes 45–55 ms.
 */
export function usbIdsFromSysfs(
  path: string,
  sysfs = '/sys',
): { vendorId?: number; productId?: number } | undefined {
  const ttys = join(sysfs, 'class', 'tty');
  if (!existsSync(ttys)) return undefined;
  let dir: string;
  try {
    dir = realpathSync(join(ttys, basename(realpathSync(path)), 'device'));
  } catch {
    return {};
  }
  const root = realpathSync(sysfs);
  for (; dir.startsWith(root) && dir !== root; dir = dirname(dir)) {
    try {
      const vendorId = parseId(readFileSync(join(dir, 'idVendor'), 'utf8').trim());
      const productId = parseId(readFileSync(join(dir, 'idProduct'), 'utf8').trim());
      return {
        ...(vendorId !== undefined ? { vendorId } : {}),
        ...(productId !== undefined ? { productId } : {}),
      };
    } catch {
      // Not the USB device yet: go up.
    }
  }
  return {};
}

/**
 * The handle for a port path: with the USB ids of its device (the path may be a symlink such as
 * /dev/serial/by-id/…), or none (a pty, a UART on a header): from sysfs when `sysfs` is given
 * and present (Linux), else from the OS's port list.
 */
export async function serialPortAt(
  path: string,
  options: NodeSerialOptions & { list?: PortLister; sysfs?: string | undefined },
): Promise<NodeSerialPortHandle> {
  const fromSysfs = options.sysfs !== undefined ? usbIdsFromSysfs(path, options.sysfs) : undefined;
  if (fromSysfs) return new NodeSerialPortHandle(path, portInfoFor(path, fromSysfs), options);
  const entries = await (options.list ?? listSerialPorts)().catch(() => []);
  const entry = entries.find((e) => sameFile(e.path, path));
  return new NodeSerialPortHandle(
    path,
    entry
      ? {
          ...entry.info,
          label: path === entry.path ? entry.info.label : `${path} (${entry.info.label})`,
        }
      : portInfoFor(path, {}),
    options,
  );
}

/** How often the port list is read while waiting (a USB re-enumeration takes 0.3–2 s). */
const POLL_MS = 200;

/**
 * Finds a board again after it re-enumerated (native USB boards after a reset, the Leonardo's
 * bootloader port) by polling the port list: a port with the same USB ids (or one `accept`
 * takes) on another path, or on the same path once it has been gone. A port without USB ids
 * (a pty, a UART on a header) counts as back as soon as its path exists.
 */
export class NodePortWatcher implements PortWatcher {
  constructor(private readonly options: NodeSerialOptions & { list?: PortLister }) {}

  async waitForReturn(
    previous: SerialPortHandle,
    options: {
      timeoutMs: number;
      signal?: AbortSignal | undefined;
      accept?: (info: PortInfo) => boolean;
    },
  ): Promise<SerialPortHandle> {
    const { clock } = this.options;
    const list = this.options.list ?? listSerialPorts;
    const want = previous.info;
    const oldPath = previous instanceof NodeSerialPortHandle ? previous.path : undefined;
    const deadline = clock.now() + options.timeoutMs;
    let oldPathGone = false;
    for (;;) {
      if (options.signal?.aborted) throw new AbortError();
      const entries = await list().catch((): NodePortEntry[] => []);
      if (oldPath !== undefined && !entries.some((e) => sameFile(e.path, oldPath))) {
        oldPathGone = true;
      }
      const found = entries.find((e) => {
        const isOld = oldPath !== undefined && sameFile(e.path, oldPath);
        if (isOld && !oldPathGone) return false;
        if (options.accept) return options.accept(e.info);
        return (
          want.usbVendorId !== undefined &&
          e.info.usbVendorId === want.usbVendorId &&
          e.info.usbProductId === want.usbProductId
        );
      });
      if (found) return new NodeSerialPortHandle(found.path, found.info, this.options);
      if (want.usbVendorId === undefined && oldPath !== undefined && existsSync(oldPath)) {
        return new NodeSerialPortHandle(oldPath, want, this.options);
      }
      if (clock.now() >= deadline) {
        throw new TimeoutError(`Waiting for ${want.label} to come back`, options.timeoutMs, {
          hints: ['Unplug and replug the board, then run the command again.'],
        });
      }
      await sleep(clock, POLL_MS, options.signal);
    }
  }
}

/**
 * The paths that match the `--ports` patterns now: in each pattern's directory (which must be
 * literal), the names its last part matches, where `*` matches any run of characters and `?` one
 * (shell globbing, POSIX.1-2017 XCU §2.13.1, without brackets). Read from the file system, so
 * ports the OS does not list (ptys, /dev/serial/by-id links) are found too. Sorted, no duplicates.
 * @example matchPortPaths(['/dev/ttyUSB*', '/dev/ttyACM*'])
 */
export function matchPortPaths(patterns: readonly string[]): string[] {
  const found = new Set<string>();
  for (const pattern of patterns) {
    const dir = dirname(pattern);
    const name = basename(pattern);
    if (!/[*?]/.test(name)) {
      if (existsSync(pattern)) found.add(pattern);
      continue;
    }
    const re = new RegExp(
      `^${name
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.')}$`,
    );
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const n of names) if (re.test(n)) found.add(join(dir, n));
  }
  return [...found].sort();
}
