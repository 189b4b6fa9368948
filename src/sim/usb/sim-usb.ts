/**
 * The simulated devices as `UsbDeviceHandle`s without a browser: for Node tools, benchmarks
 * and pure tests. Browser code reaches the same devices through the fake `navigator.usb`
 * (src/sim/web/fake-webusb.ts) and the WebUSB adapter instead. Pure.
 */
import type { Clock } from '../../core/clock.ts';
import { AbortError, TimeoutError, TransportError } from '../../core/errors.ts';
import { requestDescriptor, requestString } from '../../transport/usb-descriptors.ts';
import {
  matchesFilter,
  usbId,
  type UsbConnection,
  type UsbDeviceFilter,
  type UsbDeviceHandle,
  type UsbDeviceInfo,
  type UsbDeviceWatcher,
  type UsbInResult,
  type UsbOutResult,
  type UsbSetup,
} from '../../transport/usb.ts';
import type { SimUsbBus, SimUsbDevice } from './sim-usb-device.ts';

/** Runs `f` as a promise: a throw becomes a rejection. */
function settle(f: () => void): Promise<void> {
  return new Promise((resolve) => {
    f();
    resolve();
  });
}

function infoOf(sim: SimUsbDevice): UsbDeviceInfo {
  const id = sim.identity;
  return {
    label: `${id.product ?? 'USB device'} (${usbId(id.vendorId, id.productId)})`,
    vendorId: id.vendorId,
    productId: id.productId,
    deviceVersion: id.deviceVersion,
    ...(id.manufacturer ? { manufacturerName: id.manufacturer } : {}),
    ...(id.product ? { productName: id.product } : {}),
    ...(id.serialNumber ? { serialNumber: id.serialNumber } : {}),
    configurations: sim.configurations,
  };
}

/** A simulated device on `bus` as a handle. */
export class SimUsbHandle implements UsbDeviceHandle {
  readonly info: UsbDeviceInfo;
  constructor(
    readonly sim: SimUsbDevice,
    private readonly bus: SimUsbBus,
  ) {
    this.info = infoOf(sim);
  }

  get connected(): boolean {
    return this.sim.attached;
  }

  /** Opens the device; rejects with 'transport.device-lost' when it is not attached. */
  open(): Promise<UsbConnection> {
    return new Promise((resolve) => resolve(this.connect()));
  }

  private connect(): UsbConnection {
    if (!this.sim.attached)
      throw new TransportError(
        'transport.device-lost',
        `${this.info.label} is no longer connected.`,
      );
    const sim = this.sim;
    const info = this.info;
    const bus = this.bus;
    let closed = false;
    const listeners = new Set<(e: TransportError) => void>();
    const lostError = (): TransportError =>
      new TransportError('transport.device-lost', `${info.label} was disconnected.`);
    const off = bus.onDetach((d) => {
      if (d !== sim || closed) return;
      closed = true;
      off();
      const err = lostError();
      for (const l of [...listeners]) l(err);
    });
    const live = (): void => {
      if (!sim.attached) throw lostError();
      if (closed) throw new TransportError('transport.closed', `${info.label} is closed.`);
    };
    const after = <T>(r: T): T => {
      if (!sim.attached) throw lostError();
      return r;
    };
    const connection: UsbConnection = {
      info,
      get isOpen() {
        return !closed && sim.attached;
      },
      selectConfiguration: async (v) => {
        live();
        if ((await sim.setConfiguration(v)).status !== 'ok')
          throw new TransportError('transport.io', `${info.label} refused configuration ${v}.`);
      },
      claimInterface: () => settle(live),
      releaseInterface: () => settle(live),
      selectAlternate: async (i, a) => {
        live();
        if ((await sim.setInterface(i, a)).status !== 'ok')
          throw new TransportError('transport.io', `${info.label} refused alternate setting ${a}.`);
      },
      controlIn: async (setup: UsbSetup, length: number, options): Promise<UsbInResult> => {
        live();
        if (options?.signal?.aborted) throw new AbortError();
        const r = await sim.controlIn(setup, length);
        return after(
          r.data.length > length ? { status: 'babble', data: r.data.subarray(0, length) } : r,
        );
      },
      controlOut: async (setup: UsbSetup, data: Uint8Array, options): Promise<UsbOutResult> => {
        live();
        if (options?.signal?.aborted) throw new AbortError();
        return after(await sim.controlOut(setup, data.slice()));
      },
      getDescriptor: (type, index, length, languageId = 0) =>
        requestDescriptor(connection, { type, index, length, languageId }),
      getString: (index) => requestString(connection, index),
      reset: async () => {
        live();
        sim.busReset();
        await Promise.resolve();
      },
      close: () =>
        settle(() => {
          closed = true;
          off();
          listeners.clear();
        }),
      onLost: (listener) => {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    };
    return connection;
  }
}

/** Finds simulated devices on a bus; every device is allowed. */
export class SimUsbWatcher implements UsbDeviceWatcher {
  constructor(
    private readonly bus: SimUsbBus,
    private readonly clock: Clock,
  ) {}

  list(filters: readonly UsbDeviceFilter[]): Promise<SimUsbHandle[]> {
    return Promise.resolve(
      this.bus.devices
        .map((d) => new SimUsbHandle(d, this.bus))
        .filter((h) => filters.some((f) => matchesFilter(h.info, f))),
    );
  }

  waitForDevice(
    filters: readonly UsbDeviceFilter[],
    options: { timeoutMs: number; signal?: AbortSignal | undefined; exclude?: UsbDeviceHandle },
  ): Promise<SimUsbHandle> {
    const excluded = (options.exclude as SimUsbHandle | undefined)?.sim;
    return new Promise((resolve, reject) => {
      let done = false;
      const finish = (fn: () => void): void => {
        if (done) return;
        done = true;
        off();
        this.clock.clearTimer(timer);
        options.signal?.removeEventListener('abort', onAbort);
        fn();
      };
      const consider = (d: SimUsbDevice): void => {
        const h = new SimUsbHandle(d, this.bus);
        if (d !== excluded && filters.some((f) => matchesFilter(h.info, f)))
          finish(() => resolve(h));
      };
      const onAbort = (): void => finish(() => reject(new AbortError()));
      const off = this.bus.onAttach(consider);
      const timer = this.clock.setTimer(options.timeoutMs, () =>
        finish(() =>
          reject(new TimeoutError('Waiting for the USB device to come back', options.timeoutMs)),
        ),
      );
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.bus.devices.forEach(consider);
    });
  }
}
