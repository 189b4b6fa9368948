import { describe, expect, it } from 'vitest';
import { VirtualClock, sleep } from '../../core/clock.ts';
import { ProtocolError } from '../../core/errors.ts';
import { toHex } from '../../core/bytes.ts';
import { STM32_CHIPS, flashSize, flashSectors } from '../../protocols/stm32/chips.ts';
import { ACK, Command, MassErase, NACK, encodeCommand } from '../../protocols/stm32/commands.ts';
import { Stm32Client } from '../../protocols/stm32/client.ts';
import { stm32Crc } from '../../protocols/stm32/crc.ts';
import { LINK_CP2102, SerialWire } from '../serial-wire.ts';
import { Stm32SimBoard, type Stm32BoardOptions } from './board.ts';

async function setup(options: Partial<Stm32BoardOptions> = {}) {
  const clock = new VirtualClock({ yieldToHost: setImmediate });
  const board = new Stm32SimBoard({ chip: 'stm32f4', ...options });
  const wire = new SerialWire({ clock, device: board, link: LINK_CP2102, seed: 1 });
  const link = await wire.port!.open({ baudRate: 115200, parity: 'even' });
  const client = new Stm32Client(link, { clock });
  return { clock, board, wire, link, client };
}

const le32 = (n: number): number[] => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24];

const pattern = (n: number, seed = 1) =>
  Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 7) & 0xff);

describe('STM32 simulator against the client, in virtual time', () => {
  it('autobaud: ACK to the first 0x7F, NACK to a 0x7F once synchronised (AN3155 §2)', async () => {
    const { client, link } = await setup();
    expect(await client.sync()).toBe('ack');
    // Already synchronised: a lone 0x7F is taken as a command byte; a second fails the complement.
    await link.write(Uint8Array.of(0x7f, 0x7f));
    expect(await link.input.readByte({ timeoutMs: 100 })).toBe(NACK);
    expect(await client.sync()).toBe('nack');
  });

  it.each(STM32_CHIPS.map((c) => [c.chip, c] as const))(
    'GET, GET_VERSION, GET_ID on %s',
    async (id, chip) => {
      const { client } = await setup({ chip: id });
      await client.sync();
      const get = await client.get();
      expect(get.version).toBe(chip.protocolVersion);
      expect(get.commands).toEqual(chip.commands);
      expect(await client.getVersion()).toEqual({
        version: chip.protocolVersion,
        option1: 0,
        option2: 0,
      });
      expect(await client.getId()).toBe(chip.productId);
    },
  );

  it('stm32f4: the flash-size register reads as a word at 0x1FFF7A20, F_SIZE in bits 31:16 (RM0090 §39.2)', async () => {
    const { client } = await setup({ chip: 'stm32f4' });
    await client.sync();
    await client.get();
    const w = await client.readMemory(0x1fff7a20, 4);
    expect(w[2]! | (w[3]! << 8)).toBe(1024);
    const half = await client.readMemory(0x1fff7a22, 2);
    expect(half[0]! | (half[1]! << 8)).toBe(1024);
  });

  it('reads the UID and flash-size registers', async () => {
    const uid = Uint8Array.from({ length: 12 }, (_, i) => 0xa0 + i);
    const { client } = await setup({ chip: 'stm32l4', uid });
    await client.sync();
    await client.get();
    expect(toHex(await client.readMemory(0x1fff7590, 12))).toBe(toHex(uid));
    const size = await client.readMemory(0x1fff75e0, 2);
    expect(size[0]! | (size[1]! << 8)).toBe(256);
  });

  it('write, read back, AND-programming over non-erased bytes, erase', async () => {
    const { client, board } = await setup({ chip: 'stm32f1' });
    await client.sync();
    await client.get();
    const data = pattern(256);
    await client.writeMemory(0x08000400, data);
    expect(toHex(await client.readMemory(0x08000400, 256))).toBe(toHex(data));
    await client.writeMemory(0x08000400, Uint8Array.of(0x0f, 0xf0, 0xff, 0x00));
    const and = await client.readMemory(0x08000400, 4);
    expect(Array.from(and)).toEqual([data[0]! & 0x0f, data[1]! & 0xf0, data[2]!, 0]);
    // F1 V2.2: ERASE 0x43 with page numbers.
    await client.erase({ kind: 'pages', pages: [1] });
    expect(board.memory.flash.isErased(0x08000400, 1024)).toBe(true);
    expect(board.commandLog).toContain(Command.ERASE);
  });

  it('extended erase of pages, bank and mass erase; reserved codes are refused', async () => {
    const { client, board } = await setup({ chip: 'stm32h7', timing: 'instant' });
    await client.sync();
    await client.get();
    const bank2 = 0x08100000;
    await client.writeMemory(0x08000000, pattern(32));
    await client.writeMemory(bank2, pattern(32));
    await client.erase({ kind: 'mass', code: MassErase.BANK2 });
    expect(board.memory.flash.isErased(bank2, 32)).toBe(true);
    expect(board.memory.flash.isErased(0x08000000, 32)).toBe(false);
    await client.erase({ kind: 'pages', pages: [0] });
    expect(board.memory.flash.isErased(0x08000000, 32)).toBe(true);
    await client.writeMemory(0x08000000, pattern(32));
    await client.erase({ kind: 'mass', code: MassErase.ALL });
    expect(board.memory.flash.isErased(0x08000000, flashSize(board.chip))).toBe(true);
    await expect(client.erase({ kind: 'pages', pages: [16] })).rejects.toThrow(ProtocolError);
  });

  it('bank erase on a single-bank part is refused', async () => {
    const { client } = await setup({ chip: 'stm32f4', timing: 'instant' });
    await client.sync();
    await client.get();
    await expect(client.erase({ kind: 'mass', code: MassErase.BANK1 })).rejects.toMatchObject({
      code: 'protocol.command-failed',
    });
  });

  it('sector erase takes the datasheet time on the clock', async () => {
    const { client, clock } = await setup({ chip: 'stm32f4' });
    await client.sync();
    await client.get();
    const t0 = clock.now();
    await client.erase({ kind: 'pages', pages: [5] }); // a 128 KiB sector: 1 s typical
    expect(clock.now() - t0).toBeGreaterThanOrEqual(1000);
    expect(clock.now() - t0).toBeLessThan(1100);
  });

  it('invalid addresses are NACKed', async () => {
    const { client } = await setup({ chip: 'stm32f0' });
    await client.sync();
    await client.get();
    await expect(client.readMemory(0x30000000, 4)).rejects.toMatchObject({
      code: 'protocol.command-failed',
    });
    await expect(client.writeMemory(0x1fff0000, pattern(4))).rejects.toMatchObject({
      code: 'protocol.command-failed',
    });
    // Reading past the end of flash fails at the length stage.
    const end = 0x08000000 + flashSize((await setup({ chip: 'stm32f0' })).board.chip);
    await expect(client.readMemory(end - 4, 8)).rejects.toMatchObject({
      code: 'protocol.command-failed',
    });
    await expect(client.go(0x40000000)).rejects.toMatchObject({ code: 'protocol.command-failed' });
  });

  it('a damaged command, address or data block draws a NACK and the loop goes on', async () => {
    const { client, link } = await setup();
    await client.sync();
    await link.write(Uint8Array.of(0x00, 0x00)); // complement wrong
    expect(await link.input.readByte({ timeoutMs: 100 })).toBe(NACK);
    await link.write(encodeCommand(Command.READ_MEMORY));
    expect(await link.input.readByte({ timeoutMs: 100 })).toBe(ACK);
    await link.write(Uint8Array.of(0x08, 0, 0, 0, 0x09)); // checksum wrong
    expect(await link.input.readByte({ timeoutMs: 100 })).toBe(NACK);
    expect(await client.getId()).toBe(0x413);
  });

  it('GO starts the application; a reset with BOOT0 high brings the bootloader back', async () => {
    const { client, board, wire } = await setup({ chip: 'stm32g0' });
    await client.sync();
    await client.get();
    await client.go(0x08000000);
    expect(board.state).toBe('application');
    expect(board.applicationAddress).toBe(0x08000000);
    wire.resetDevice();
    await client.sync();
    expect(board.state).toBe('bootloader');
  });

  /** stm32flash `stm32_run_raw_code` with `stm_reset_code` (stm32.c), as `-R` sends it. */
  const stm32flashResetImage = (ramStart: number): Uint8Array => {
    const image = new Uint8Array(24);
    const v = new DataView(image.buffer);
    v.setUint32(0, 0x20002000, true); // stack pointer
    v.setUint32(4, ramStart + 8 + 1, true); // reset handler, Thumb
    image.set([0x01, 0x49, 0x02, 0x4a, 0x0a, 0x60, 0xfe, 0xe7], 8);
    v.setUint32(16, 0xe000ed0c, true); // AIRCR
    v.setUint32(20, 0x05fa0004, true); // VECTKEY | SYSRESETREQ
    return image;
  };

  it.each(['stm32f4', 'stm32f1', 'stm32g0'])(
    "%s: GO to stm32flash's reset routine in SRAM resets the chip into its bootloader (BOOT0 high)",
    async (id) => {
      const { client, board } = await setup({ chip: id });
      const ram = board.chip.ram.start;
      await client.sync();
      await client.get();
      await client.writeMemory(ram, stm32flashResetImage(ram));
      const resets = board.resets;
      await client.go(ram);
      expect(board.lastRamCode).toEqual({ kind: 'system-reset' });
      expect(board.state).not.toBe('application');
      expect(board.applicationAddress).toBeUndefined();
      // A new autobaud: the bootloader started again.
      expect(await client.sync()).toBe('ack');
      expect(board.resets).toBe(resets + 1);
      expect(board.state).toBe('bootloader');
    },
  );

  it('the reset routine with BOOT0 low starts the application from flash, as a reset does', async () => {
    const { client, board, link, clock } = await setup({
      chip: 'stm32f4',
      wiring: 'dtr-boot0-rts-nrst',
      boot0: 'low',
    });
    // DTR drives BOOT0 high; releasing RTS (NRST) starts the bootloader.
    await link.setSignals({ dataTerminalReady: true, requestToSend: false });
    await sleep(clock, 10);
    const ram = board.chip.ram.start;
    await client.sync();
    await client.get();
    await client.writeMemory(ram, stm32flashResetImage(ram));
    await link.setSignals({ dataTerminalReady: false }); // BOOT0 low again, no reset
    await client.go(ram);
    await sleep(clock, 20);
    expect(board.lastRamCode).toEqual({ kind: 'system-reset' });
    expect(board.state).toBe('application');
    expect(board.applicationAddress).toBe(0x08000000);
  });

  it('other code in SRAM runs on: the chip is silent until a reset', async () => {
    const { client, board, wire } = await setup({ chip: 'stm32f4' });
    const ram = board.chip.ram.start;
    await client.sync();
    await client.get();
    // A vector, then `movs r0, #1; b .` — a program that waits for ever.
    const image = Uint8Array.of(0, 0x20, 0, 0x20, ...le32(ram + 9), 0x01, 0x20, 0xfe, 0xe7);
    await client.writeMemory(ram, image);
    await client.go(ram);
    expect(board.state).toBe('ram-code');
    expect(board.lastRamCode).toMatchObject({ kind: 'runs', reason: /endless loop/ });
    await expect(client.sync()).rejects.toMatchObject({ code: 'protocol.no-sync' });
    wire.resetDevice();
    expect(await client.sync()).toBe('ack');
    // An instruction the interpreter does not know (WFI) is code that runs on as well.
    await client.get();
    await client.writeMemory(ram, Uint8Array.of(0, 0x20, 0, 0x20, ...le32(ram + 9), 0x30, 0xbf));
    await client.go(ram);
    expect(board.lastRamCode).toMatchObject({ kind: 'runs', reason: /0xbf30 is not simulated/ });
  });

  it('read protection: reads and writes NACKed, READOUT_UNPROTECT mass-erases and resets', async () => {
    const { client, board } = await setup({ chip: 'stm32f1', readProtected: true });
    board.memory.flash.load(0x08000000, pattern(64));
    await client.sync();
    await client.get();
    expect(await client.getId()).toBe(0x410);
    await expect(client.readMemory(0x08000000, 4)).rejects.toMatchObject({
      code: 'protocol.read-protected',
    });
    await expect(client.writeMemory(0x08000000, pattern(4))).rejects.toMatchObject({
      code: 'protocol.read-protected',
    });
    await client.readoutUnprotect();
    expect(await client.sync()).toBe('ack'); // the chip reset: autobaud again
    expect(board.memory.flash.isErased(0x08000000, 64)).toBe(true);
    expect(toHex(await client.readMemory(0x08000000, 4))).toBe('ffffffff');
    await client.readoutProtect();
    await client.sync();
    await expect(client.readMemory(0x08000000, 4)).rejects.toMatchObject({
      code: 'protocol.read-protected',
    });
  });

  it('write protection blocks erase and write until WRITE_UNPROTECT', async () => {
    const { client } = await setup({ chip: 'stm32f0', timing: 'instant' });
    await client.sync();
    await client.get();
    await client.writeProtect([0, 1]);
    await client.sync();
    await expect(client.erase({ kind: 'pages', pages: [1] })).rejects.toMatchObject({
      code: 'protocol.command-failed',
    });
    await expect(client.writeMemory(0x08000000, pattern(4))).rejects.toMatchObject({
      code: 'protocol.command-failed',
    });
    await client.erase({ kind: 'pages', pages: [2] }); // an unprotected page
    await client.writeUnprotect();
    await client.sync();
    await client.writeMemory(0x08000000, pattern(4));
  });

  it('writing option bytes resets the chip', async () => {
    const { client, board } = await setup({ chip: 'stm32f1' });
    await client.sync();
    await client.get();
    const resets = board.resets;
    await client.writeMemory(0x1ffff804, Uint8Array.of(0x12, 0xed, 0xff, 0xff));
    await client.sync();
    expect(board.resets).toBe(resets + 1);
  });

  it('GET_CHECKSUM returns the STM32 CRC of the area', async () => {
    const { client, board } = await setup({ chip: 'stm32g0', checksumCommand: true });
    const data = pattern(1024, 3);
    board.memory.flash.load(0x08000000, data);
    await client.sync();
    await client.get();
    expect(await client.checksum(0x08000000, 1024)).toBe(stm32Crc(data));
  });

  it('commands the part does not list are NACKed (GET_CHECKSUM without the option)', async () => {
    const { client, link } = await setup({ chip: 'stm32g0' });
    await client.sync();
    await link.write(encodeCommand(Command.GET_CHECKSUM));
    expect(await link.input.readByte({ timeoutMs: 100 })).toBe(NACK);
  });

  it('sector map of the F4 matches RM0090', () => {
    const sizes = flashSectors(STM32_CHIPS.find((c) => c.chip === 'stm32f4')!).map(
      (s) => s.size / 1024,
    );
    expect(sizes).toEqual([16, 16, 16, 16, 64, 128, 128, 128, 128, 128, 128, 128]);
  });
});
