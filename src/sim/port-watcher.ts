/**
 * A PortWatcher (src/transport/link.ts) over one simulated wire: finds the port a simulated
 * board comes back on after a USB re-enumeration, as `WebSerialPortWatcher` does with the
 * browser's `connect` events.
 */
import { sleep, type Clock } from '../core/clock.ts';
import { AbortError, TimeoutError } from '../core/errors.ts';
import type { PortWatcher, SerialPortHandle, WaitForReturnOptions } from '../transport/link.ts';
import type { SerialWire } from './serial-wire.ts';
import type { SimSerialPort } from './sim-serial-port.ts';

export class SimPortWatcher implements PortWatcher {
  constructor(private readonly wire: SerialWire) {}

  waitForReturn(
    previous: SerialPortHandle,
    options: WaitForReturnOptions,
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

/**
 * A polling watcher over `wire`: the wire's port, once present again, is the same board coming
 * back (a reset of a USB-native board, an unplug and replug).
 */
export function wirePortWatcher(wire: SerialWire, clock: Clock = wire.clock): PortWatcher {
  return {
    async waitForReturn(previous, { timeoutMs, signal }): Promise<SerialPortHandle> {
      const deadline = clock.now() + timeoutMs;
      for (;;) {
        if (signal?.aborted) throw new AbortError();
        const port = wire.port;
        if (port && port !== previous) return port;
        if (port && port === previous && port.present) return port;
        if (clock.now() >= deadline)
          throw new TimeoutError('Waiting for the board to come back', timeoutMs);
        await sleep(clock, Math.min(50, Math.max(1, deadline - clock.now())), signal);
      }
    },
  };
}
