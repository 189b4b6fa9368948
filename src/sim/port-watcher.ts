/**
 * A PortWatcher (src/transport/link.ts) over one simulated wire: finds the port a simulated
 * board comes back on after a USB re-enumeration, as `WebSerialPortWatcher` does with the
 * browser's `connect` events.
 */
import { AbortError, TimeoutError } from '../core/errors.ts';
import type { PortInfo, PortWatcher, SerialPortHandle } from '../transport/link.ts';
import type { SerialWire, SimSerialPort } from './serial-wire.ts';

export class SimPortWatcher implements PortWatcher {
  constructor(private readonly wire: SerialWire) {}

  waitForReturn(
    previous: SerialPortHandle,
    options: {
      timeoutMs: number;
      signal?: AbortSignal | undefined;
      accept?: (info: PortInfo) => boolean;
    },
  ): Promise<SerialPortHandle> {
    const want = previous.info;
    const matches = (port: SimSerialPort): boolean =>
      port !== previous &&
      (options.accept
        ? options.accept(port.info)
        : port.info.usbVendorId === want.usbVendorId &&
          port.info.usbProductId === want.usbProductId);
    const clock = this.wire.clock;
    return new Promise((resolve, reject) => {
      let settled = false;
      const finish = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        clock.clearTimer(timer);
        unsubscribe();
        options.signal?.removeEventListener('abort', onAbort);
        fn();
      };
      const onAbort = (): void => finish(() => reject(new AbortError()));
      const timer = clock.setTimer(options.timeoutMs, () =>
        finish(() =>
          reject(new TimeoutError(`Waiting for ${want.label} to come back`, options.timeoutMs)),
        ),
      );
      const unsubscribe = this.wire.onPortChange((change) => {
        if (change.type === 'connect' && matches(change.port)) finish(() => resolve(change.port));
      });
      options.signal?.addEventListener('abort', onAbort, { once: true });
      if (options.signal?.aborted) onAbort();
      const now = this.wire.port;
      if (now && matches(now)) finish(() => resolve(now));
    });
  }
}
