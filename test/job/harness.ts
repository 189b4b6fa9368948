/** Builds a job around a FakeSession and records everything it emits. */
import { VirtualClock } from '../../src/core/clock.ts';
import { ProtocolError } from '../../src/core/errors.ts';
import { FlashJob } from '../../src/job/engine.ts';
import { recoveryAdvice } from '../../src/job/recovery.ts';
import type { BoardFacts, FlashSource, VerifiedSource } from '../../src/job/source.ts';
import type { JobEvents, JobSettings } from '../../src/job/types.ts';
import type { DeviceIdentity, FlashRegion } from '../../src/protocols/driver.ts';
import { FakeConnector, FakeSession, type FakeSessionOptions } from './fake-session.ts';

/** Deterministic bytes: a simple LCG so contents differ per region. */
export function pattern(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0;
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

export const defaultRegions: FlashRegion[] = [
  { name: 'bootloader', address: 0x0, data: pattern(4096, 1) },
  { name: 'app', address: 0x10000, data: pattern(10 * 1024, 2) },
];

export function verifiedSource(
  regions: readonly FlashRegion[] = defaultRegions,
  chip = 'esp32s3',
): VerifiedSource & { resolved: BoardFacts[]; written: number } {
  const source = {
    kind: 'verified' as const,
    label: `test firmware for ${chip}`,
    resolved: [] as BoardFacts[],
    written: 0,
    resolve(board: BoardFacts) {
      source.resolved.push(board);
      if (board.identity.chip !== chip) {
        throw new ProtocolError(
          'protocol.wrong-chip',
          `This bundle is for ${chip}, but the board is ${board.identity.chip}.`,
        );
      }
      return regions;
    },
    onWritten() {
      source.written++;
    },
  };
  return source;
}

/** The regions a harness source resolves to (for placing `corrupt` faults). */
function regionsOf(source: FlashSource): readonly FlashRegion[] {
  if (source.kind === 'unverified') {
    return [{ name: source.name ?? 'image', address: source.address, data: source.data }];
  }
  return defaultRegions;
}

type Recorded = { [K in keyof JobEvents]: JobEvents[K][] };

export interface HarnessOptions {
  session?: Omit<FakeSessionOptions, 'clock'>;
  source?: FlashSource;
  settings?: JobSettings;
  allowUnverified?: boolean;
  signal?: AbortSignal;
  connect?: {
    connectMs?: number;
    hang?: boolean;
    error?: () => Error;
    failOn?: readonly number[];
    identityOnReconnect?: Partial<DeviceIdentity>;
  };
  /** The port handed to the connector; a string unless set. */
  port?: unknown;
}

export function harness(options: HarnessOptions = {}) {
  const clock = new VirtualClock({ yieldToHost: setImmediate });
  const session = new FakeSession({ clock, ...options.session });
  const source = options.source ?? verifiedSource();
  session.placeRegions(regionsOf(source));
  const connector = new FakeConnector(session, { clock, ...options.connect });
  const job = new FlashJob({
    port: options.port ?? 'fake-port',
    connector,
    source,
    clock,
    signal: options.signal,
    settings: options.settings ?? {},
    allowUnverified: options.allowUnverified ?? false,
    advise: recoveryAdvice,
  });
  const events: Recorded = {
    phase: [],
    progress: [],
    log: [],
    device: [],
    installed: [],
    retry: [],
    result: [],
  };
  const order: string[] = [];
  for (const name of Object.keys(events) as (keyof JobEvents)[]) {
    job.on(name, (payload) => {
      (events[name] as unknown[]).push(payload);
      if (name !== 'log' && name !== 'progress') {
        order.push(name === 'phase' ? `phase:${(payload as JobEvents['phase']).phase}` : name);
      }
    });
  }
  return { clock, session, connector, job, events, order, source };
}
