/**
 * The 'stm32-usart' driver under the flash engine, against the simulated STM32 on a simulated
 * USB-UART link, in virtual time: clean runs on every part, every fault kind of the wire (seeded;
 * the seed is in every failure message), read protection, resume, verification.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock, sleep } from '../../src/core/clock.ts';
import { equalBytes } from '../../src/core/bytes.ts';
import { VerificationError } from '../../src/core/errors.ts';
import { runFlashJob } from '../../src/job/index.ts';
import type { JobResult, JobSettings } from '../../src/job/index.ts';
import { STM32_CHIPS } from '../../src/protocols/stm32/chips.ts';
import { Command } from '../../src/protocols/stm32/commands.ts';
import { createStm32Driver, type Stm32DriverOptions } from '../../src/protocols/stm32/driver.ts';
import { LINK_CP2102, SerialWire, type FaultOptions } from '../../src/sim/serial-wire.ts';
import { Stm32SimBoard, type Stm32BoardOptions } from '../../src/sim/stm32/board.ts';

const FLASH = 0x08000000;

function image(n: number, seed = 7): Uint8Array {
  let x = seed;
  return Uint8Array.from({ length: n }, () => (x = (x * 1103515245 + 12345) >>> 0) >>> 24);
}

function rig(board: Partial<Stm32BoardOptions> = {}, seed = 1) {
  const clock = new VirtualClock({ yieldToHost: setImmediate });
  const device = new Stm32SimBoard({
    chip: 'stm32f4',
    wiring: 'dtr-boot0-rts-nrst',
    boot0: 'low',
    ...board,
  });
  const wire = new SerialWire({ clock, device, link: LINK_CP2102, seed });
  return { clock, device, wire };
}

async function flash(
  r: ReturnType<typeof rig>,
  data: Uint8Array,
  options: { driver?: Stm32DriverOptions; settings?: JobSettings; address?: number } = {},
): Promise<JobResult> {
  return runFlashJob({
    port: r.wire.port!,
    connector: createStm32Driver(options.driver),
    source: { kind: 'unverified', name: 'app', address: options.address ?? FLASH, data },
    clock: r.clock,
    allowUnverified: true,
    settings: { maxAttempts: 8, retryBaseDelayMs: 50, ...options.settings },
  });
}

function onChip(r: ReturnType<typeof rig>, n: number, address = FLASH): Uint8Array {
  return r.device.memory.flash.read(address, n);
}

describe('stm32-usart driver under the engine', () => {
  it.each(STM32_CHIPS.map((c) => [c.chip] as const))(
    'writes, verifies and starts %s',
    async (chip) => {
      const r = rig({ chip });
      const data = image(5000 + 123);
      const result = await flash(r, data);
      expect(result.ok, JSON.stringify(result)).toBe(true);
      expect(equalBytes(onChip(r, data.length), data)).toBe(true);
      // Erased only what the image touches: the byte after the last touched sector is untouched.
      expect(r.device.memory.flash.counters.chipErases).toBe(0);
      expect(r.device.state).toBe('application');
      if (result.ok) {
        expect(result.identity.chip).toBe(chip);
        expect(result.identity.protocol).toBe('stm32-usart');
        expect(result.identity.uniqueId).toMatch(/^[0-9a-f]{24}$/);
      }
    },
  );

  it('erases only the sectors the image touches (F4: 16 KiB sectors 0-1 for 20 KiB)', async () => {
    const r = rig({ chip: 'stm32f4' });
    r.device.memory.flash.load(0x08008000, Uint8Array.of(1, 2, 3, 4)); // sector 2
    const result = await flash(r, image(20 * 1024));
    expect(result.ok).toBe(true);
    expect(r.device.memory.flash.counters.sectorErases.slice(0, 4)).toEqual([1, 1, 0, 0]);
    expect(Array.from(onChip(r, 4, 0x08008000))).toEqual([1, 2, 3, 4]);
  });

  it('mass erase when the job asks for it (extended erase 0xFFFF)', async () => {
    const r = rig({ chip: 'stm32l4', timing: 'instant' });
    const data = image(3000);
    const result = await flash(r, data, { settings: { eraseMode: 'all' } });
    expect(result.ok).toBe(true);
    expect(r.device.memory.flash.counters.chipErases).toBe(1);
    expect(r.device.memory.flash.counters.sectorErases.every((n) => n === 0)).toBe(true);
    expect(equalBytes(onChip(r, data.length), data)).toBe(true);
  });

  it('mass erase on an F1 uses ERASE 0x43 with 0xFF 0x00', async () => {
    const r = rig({ chip: 'stm32f1', timing: 'instant' });
    const result = await flash(r, image(2048), { settings: { eraseMode: 'all' } });
    expect(result.ok).toBe(true);
    expect(r.device.commandLog).toContain(Command.ERASE);
    expect(r.device.memory.flash.counters.chipErases).toBe(1);
  });

  it('verifies with GET_CHECKSUM where the bootloader offers it', async () => {
    const r = rig({ chip: 'stm32g0', checksumCommand: true });
    const data = image(4099);
    const result = await flash(r, data);
    expect(result.ok).toBe(true);
    expect(r.device.commandLog).toContain(Command.GET_CHECKSUM);
    // Read-back only for the 3-byte tail: reads are the probes (UID, size) and that one block.
    expect(r.device.commandLog.filter((c) => c === Command.READ_MEMORY).length).toBeLessThan(5);
  });

  const faults: [string, FaultOptions][] = [
    // Rates give a handful of faults over the ~50 KB that cross the wire in this job.
    ['dropped bytes', { dropRate: 0.0001 }],
    ['corrupted bytes', { corruptRate: 0.0001 }],
    ['delayed chunks', { delayRate: 0.004, delayMs: 1500 }],
    ['dropped bytes towards the device only', { dropRate: 0.0002, direction: 'to-device' }],
    ['corrupted replies only', { corruptRate: 0.0003, direction: 'to-host' }],
  ];
  it.each(faults)('survives %s, flash identical byte for byte', async (_name, fault) => {
    for (const seed of [11, 12, 13]) {
      const r = rig({ chip: 'stm32f4', timing: 'instant' }, seed);
      const data = image(24 * 1024, seed);
      // Connect cleanly, then let the faults loose on the transfer.
      const job = flash(r, data, { settings: { maxAttempts: 12 } });
      r.clock.setTimer(400, () => r.wire.setFaults({ ...fault, seed }));
      const result = await job;
      const why = `fault seed ${seed}: ${result.ok ? '' : result.error.message}`;
      expect(result.ok, why).toBe(true);
      expect(equalBytes(onChip(r, data.length), data), why).toBe(true);
      expect(
        r.wire.stats.dropped + r.wire.stats.corrupted + (fault.delayRate ? 1 : 0),
        why,
      ).toBeGreaterThan(0);
    }
  });

  it('survives a spontaneous chip reset mid-write and resumes from the first unconfirmed block', async () => {
    const r = rig({ chip: 'stm32f4', timing: 'instant' });
    const data = image(40 * 1024);
    const retries: number[] = [];
    let injected = false;
    let resetsBefore = 0;
    const job = runFlashJob({
      port: r.wire.port!,
      connector: createStm32Driver(),
      source: { kind: 'unverified', address: FLASH, data },
      clock: r.clock,
      allowUnverified: true,
      settings: { retryBaseDelayMs: 50 },
      on: {
        progress: (p) => {
          if (p.phase === 'writing' && p.regionBytesDone >= 20 * 1024 && !injected) {
            injected = true;
            resetsBefore = r.device.resets;
            r.wire.resetDevice();
          }
        },
        retry: (e) => retries.push(e.resumeFrom),
      },
    });
    const result = await job;
    expect(result.ok, result.ok ? '' : result.error.message).toBe(true);
    expect(r.device.resets).toBe(resetsBefore + 1);
    // The driver itself resynchronised (0x7F → ACK from the freshly reset chip), read the
    // unconfirmed block back and wrote it: the engine saw no failed attempt, or at most one
    // that resumed past the point of the reset.
    expect(retries.every((at) => at >= 20 * 1024)).toBe(true);
    expect(equalBytes(onChip(r, data.length), data)).toBe(true);
    // Resumed, not restarted: only about one extra block was programmed.
    expect(r.device.memory.flash.counters.programmedBytes).toBeLessThan(data.length + 1024);
  });

  it('unplugged mid-write: fails with device-lost and confirmedBytes; a new job completes the image', async () => {
    const r = rig({ chip: 'stm32f0', timing: 'instant' });
    const data = image(16 * 1024);
    r.wire.unplugAfter(8000, 'to-device');
    const first = await flash(r, data);
    expect(first.ok).toBe(false);
    if (!first.ok) expect(first.error.code).toBe('transport.device-lost');
    r.wire.plug();
    const second = await flash(r, data);
    expect(second.ok, second.ok ? '' : second.error.message).toBe(true);
    expect(equalBytes(onChip(r, data.length), data)).toBe(true);
  });

  it('a read-protected chip fails with protocol.read-protected and its recovery step; flash untouched', async () => {
    const r = rig({ chip: 'stm32f1', readProtected: true });
    const old = image(1024, 3);
    r.device.memory.flash.load(FLASH, old);
    const result = await flash(r, image(2048));
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.code).toBe('protocol.read-protected');
      expect(result.error.hints.join(' ')).toMatch(/erases the whole flash/);
      expect(result.identity?.details?.['Read protection']).toBe('on (level 1)');
    }
    expect(equalBytes(onChip(r, old.length), old)).toBe(true);
  });

  it('with allowReadoutUnprotect, unprotects (mass erase + reset) and flashes', async () => {
    const r = rig({ chip: 'stm32f1', readProtected: true });
    r.device.memory.flash.load(0x08010000, image(1024, 3));
    const data = image(2048);
    const result = await flash(r, data, { driver: { allowReadoutUnprotect: true } });
    expect(result.ok, result.ok ? '' : result.error.message).toBe(true);
    expect(r.device.memory.readProtected).toBe(false);
    expect(r.device.memory.flash.isErased(0x08010000, 1024)).toBe(true);
    expect(equalBytes(onChip(r, data.length), data)).toBe(true);
  });

  it('an image outside the flash is refused before anything is erased', async () => {
    const r = rig({ chip: 'stm32f0' });
    const result = await flash(r, image(4096), { address: 0x0800f800 });
    expect(result.ok).toBe(false);
    if (!result.ok) {
      // The engine's placement check (src/job/placement.ts), with the sizes; the driver's own
      // check stays behind it.
      expect(result.error.code).toBe('plan.out-of-flash');
      expect(result.error.message).toContain('ends at 0x08010800');
      expect(result.error.message).toContain('0x08000000…0x08010000');
    }
    expect(r.device.memory.flash.counters.sectorErases.every((n) => n === 0)).toBe(true);
  });

  it('reset by sequence: BOOT0 low and an NRST pulse start the application', async () => {
    const r = rig({ chip: 'stm32f1', timing: 'instant' });
    const result = await flash(r, image(1000), { driver: { resetMethod: 'sequence' } });
    expect(result.ok).toBe(true);
    await sleep(r.clock, 10); // the chip's start-up time after NRST rises
    expect(r.device.state).toBe('application');
    expect(r.device.commandLog).not.toContain(Command.GO);
  });

  it('without wiring, a board strapped BOOT0 high is found without a reset sequence', async () => {
    const r = rig({ chip: 'stm32g0', wiring: 'none', boot0: 'high' });
    const data = image(3000);
    const result = await flash(r, data, { driver: { enterSequence: null } });
    expect(result.ok).toBe(true);
    expect(equalBytes(onChip(r, data.length), data)).toBe(true);
  });

  it('a board left in its application does not answer: protocol.no-sync with wiring hints', async () => {
    const r = rig({ chip: 'stm32g0', wiring: 'none', boot0: 'low' });
    const result = await flash(r, image(100), { driver: { enterSequence: null } });
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.code).toBe('protocol.no-sync');
      expect(result.error.hints.join(' ')).toMatch(/BOOT0/);
    }
  });
});

describe('stm32 session details', () => {
  it('verify tells flash that differs from a damaged transfer', async () => {
    const r = rig({ chip: 'stm32f4', timing: 'instant' });
    const port = r.wire.port!;
    const session = await createStm32Driver().connect(port, { clock: r.clock, logger: silent });
    const data = image(1000);
    const region = { name: 'app', address: FLASH, data };
    await session.write(region, {});
    await session.verify(region, {});
    r.device.memory.flash.program(FLASH + 600, Uint8Array.of(0x00));
    await expect(session.verify(region, {})).rejects.toThrow(VerificationError);
    await session.close();
  });

  it('resume: a stray half-written block gets its sector erased again', async () => {
    const r = rig({ chip: 'stm32f0', timing: 'instant' });
    const session = await createStm32Driver().connect(r.wire.port!, {
      clock: r.clock,
      logger: silent,
    });
    const data = image(4096);
    const region = { name: 'app', address: FLASH, data };
    await session.write(region, {});
    // Pretend the block at 2048 was damaged: garbage over it, then resume there.
    r.device.memory.flash.program(FLASH + 2048, Uint8Array.of(0x12, 0x34));
    await session.write(region, { resumeFrom: 2048 });
    await session.verify(region, {});
    expect(r.device.memory.flash.counters.sectorErases[2]).toBe(2);
    await session.close();
  });

  it('identity reports flash size, layout and bootloader version', async () => {
    const r = rig({ chip: 'stm32h7', timing: 'instant' });
    const session = await createStm32Driver().connect(r.wire.port!, {
      clock: r.clock,
      logger: silent,
    });
    expect(session.identity).toMatchObject({
      chip: 'stm32h7',
      name: 'STM32H74xxx/75xxx',
      flashSize: 2 * 1024 * 1024,
      bootloaderVersion: '3.1',
    });
    expect(session.identity.details?.['Flash layout']).toBe('16 × 128 KiB sectors');
    expect(session.identity.details?.['Bootloader ID']).toBe('0x91 (V9.1)');
    await session.close();
  });
});

const silent = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silent,
};
