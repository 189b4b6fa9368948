import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { equalBytes } from '../../src/core/bytes.ts';
import { FramingError, ProtocolError, TimeoutError } from '../../src/core/errors.ts';
import type { Connector } from '../../src/job/types.ts';
import { espDriver } from '../../src/protocols/esp/driver.ts';
import type { SerialPortHandle } from '../../src/transport/link.ts';
import type { Fault } from './fake-session.ts';
import { defaultRegions, harness } from './harness.ts';

// The ESP driver record is a Connector as it is (checked by the compiler).
const _espFits: Connector<SerialPortHandle> = espDriver;
void _espFits;

const retryable = [
  () => new TimeoutError('FLASH_DATA', 3000),
  () => new FramingError('framing.invalid', 'bad SLIP escape'),
  () => new ProtocolError('protocol.bad-reply', 'reply to another command'),
];

const faultArb = fc.record({
  region: fc.constantFrom('bootloader', 'app'),
  atByte: fc.integer({ min: 0, max: 10 * 1024 - 1 }),
  kind: fc.integer({ min: 0, max: retryable.length - 1 }),
});

describe('FlashJob under random retryable faults (property; fast-check prints the seed)', () => {
  it('either writes every byte, or fails on a region after 3 to 10 attempts', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(faultArb, { maxLength: 6 }), async (specs) => {
        const faults: Fault[] = specs.map((s) => ({
          op: 'write',
          region: s.region,
          atByte: s.region === 'bootloader' ? s.atByte % 4096 : s.atByte,
          error: retryable[s.kind]!,
        }));
        const h = harness({ session: { faults } });
        const result = await h.job.run();

        const writes = h.events.progress.filter((p) => p.phase === 'writing');
        for (let i = 1; i < writes.length; i++) {
          expect(writes[i]!.bytesDone).toBeGreaterThanOrEqual(writes[i - 1]!.bytesDone);
        }
        const perRegion = (name: string) =>
          h.session.writes.filter((w) => w.region === name).length;
        expect(h.session.closed).toBe(true);
        if (result.ok) {
          for (const r of defaultRegions) {
            expect(
              equalBytes(h.session.flash.subarray(r.address, r.address + r.data.length), r.data),
            ).toBe(true);
            expect(perRegion(r.name)).toBeLessThanOrEqual(10);
          }
          expect(writes.at(-1)?.percent).toBe(100);
        } else {
          expect(result.phase).toBe('writing');
          expect(['timeout', 'framing.invalid', 'protocol.bad-reply']).toContain(result.error.code);
          const most = Math.max(perRegion('bootloader'), perRegion('app'));
          expect(most).toBeGreaterThanOrEqual(3);
          expect(most).toBeLessThanOrEqual(10);
          const last3 = h.events.retry.slice(-2);
          expect(last3.every((e) => e.attemptsWithoutProgress >= 1)).toBe(true);
        }
      }),
      { numRuns: 150 },
    );
  });
});
