/**
 * Fake surroundings for store tests: a VirtualClock, a port chooser that picks or cancels, the
 * real `verifyBundle` against the bundle test root, and the engine tests' FakeSession.
 */
import { verifyBundle } from '../../src/bundle/verify.ts';
import { MemoryRollbackStore } from '../../src/bundle/rollback-store.ts';
import { VirtualClock } from '../../src/core/clock.ts';
import { TransportError } from '../../src/core/errors.ts';
import type { SerialPortHandle } from '../../src/transport/link.ts';
import type { AppServices, SelectedPort } from '../../src/app/types.ts';
import { NOW, pinnedTestRoot } from '../bundle/fixtures.ts';
import { FakeConnector, FakeSession, type FakeSessionOptions } from '../job/fake-session.ts';

export interface TestServices extends AppServices {
  clock: VirtualClock;
  session: FakeSession;
  fakeConnector: FakeConnector;
  /** What the next `requestPort` does. */
  chooser: { cancel: boolean };
}

const handle: SerialPortHandle = {
  info: { label: 'Virtual ESP32-S3', usbVendorId: 0x303a, usbProductId: 0x1001 },
  open: () => Promise.reject(new Error('the fake connector never opens the port')),
};

export function testServices(
  options: {
    unverifiedAllowed?: boolean;
    session?: Omit<FakeSessionOptions, 'clock'>;
    now?: Date;
  } = {},
): TestServices {
  const clock = new VirtualClock({ yieldToHost: setImmediate });
  const session = new FakeSession({ clock, msPerBlock: 20, ...options.session });
  const fakeConnector = new FakeConnector(session, { clock, connectMs: 50 });
  const chooser = { cancel: false };
  const trustRoot = pinnedTestRoot();
  return {
    clock,
    session,
    fakeConnector,
    chooser,
    now: () => options.now ?? NOW,
    requestPort: async (request): Promise<SelectedPort> => {
      if (chooser.cancel) {
        throw new TransportError('transport.no-port-selected', 'No port was selected.', {
          hints: ['Press Connect again and pick the board in the list.'],
        });
      }
      return { handle, label: `Virtual ${request.board ?? 'board'}`, virtual: true };
    },
    connector: fakeConnector,
    verifyBundle: ({ source, signal, onProgress }) => {
      if (!(source instanceof Uint8Array)) throw new Error('tests pass bytes');
      return verifyBundle(source, {
        trustRoot,
        now: options.now ?? NOW,
        signal,
        onProgress,
        clock,
      });
    },
    rollbackStore: new MemoryRollbackStore(),
    unverifiedAllowed: options.unverifiedAllowed ?? false,
  };
}
