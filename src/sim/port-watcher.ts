/**
 * A `PortWatcher` (src/transport/link.ts) over a simulated wire: after a board re-enumerates
 * (a reset of a USB-native board, an unplug and replug), the wire's new port is the same board
 * coming back, as Web Serial's `connect` event reports a port with the same USB identity.
 */
import { sleep, type Clock } from '../core/clock.ts';
import { AbortError, TimeoutError } from '../core/errors.ts';
import type { PortWatcher, SerialPortHandle } from '../transport/link.ts';
import type { SerialWire } from './serial-wire.ts';

/** Watches `wire` for its port to come back. */
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
