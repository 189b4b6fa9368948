/**
 * The bench's ports over the W3C Web Serial API (https://wicg.github.io/serial/): `getPorts()`
 * lists the ports this site was granted, and the `connect`/`disconnect` events on
 * `navigator.serial` (spec §"connect event", §"disconnect event") report granted ports as they
 * come and go — which is what makes hands-off provisioning possible after one grant per port.
 */
import type { Clock } from '../../core/clock.ts';
import { TransportError } from '../../core/errors.ts';
import { mapSerialError, WebSerialPortHandle } from '../../transport/webserial.ts';
import type { BenchPortSource, BenchSerialPort, PortChange } from '../state/types.ts';

export interface WebSerialPortsOptions {
  serial: Serial | undefined;
  clock: Clock;
  /** A better label for a port (demo mode names its virtual boards); undefined keeps the USB one. */
  labelFor?: (port: SerialPort) => string | undefined;
  /** Filters for the chooser (e.g. known USB bridges); default none. */
  filters?: SerialPortFilter[];
}

/**
 * A BenchPortSource over `navigator.serial`. Each SerialPort object gets one id for its life.
 * @example const ports = webSerialPorts({ serial: navigator.serial, clock: realClock });
 */
export function webSerialPorts(options: WebSerialPortsOptions): BenchPortSource {
  const ids = new WeakMap<SerialPort, BenchSerialPort>();
  let next = 1;
  const wrap = (port: SerialPort): BenchSerialPort => {
    const known = ids.get(port);
    if (known) return known;
    const handle = new WebSerialPortHandle(port, { clock: options.clock });
    const info = handle.info;
    const bench: BenchSerialPort = {
      transport: 'serial',
      id: `port-${next++}`,
      handle,
      label: options.labelFor?.(port) ?? info.label,
      usbVendorId: info.usbVendorId,
      usbProductId: info.usbProductId,
    };
    ids.set(port, bench);
    return bench;
  };
  const need = (): Serial => {
    if (options.serial) return options.serial;
    throw new TransportError('transport.unavailable', 'This browser has no Web Serial.', {
      hints: ['Use Chrome or Edge on a desktop computer.'],
    });
  };
  return {
    async list() {
      const ports = await need().getPorts();
      return ports.filter((p) => p.connected !== false).map(wrap);
    },
    watch(listener) {
      const serial = options.serial;
      if (!serial) return () => undefined;
      const on =
        (type: PortChange['type']) =>
        (event: Event): void =>
          listener({ type, port: wrap(event.target as SerialPort) });
      const onConnect = on('connect');
      const onDisconnect = on('disconnect');
      serial.addEventListener('connect', onConnect);
      serial.addEventListener('disconnect', onDisconnect);
      return () => {
        serial.removeEventListener('connect', onConnect);
        serial.removeEventListener('disconnect', onDisconnect);
      };
    },
    async request() {
      try {
        const port = await need().requestPort(
          options.filters ? { filters: options.filters } : undefined,
        );
        return wrap(port);
      } catch (err) {
        throw err instanceof TransportError ? err : mapSerialError(err, 'request');
      }
    },
  };
}
