/**
 * What happens when the bootloader's GO (AN3155 §3.5) jumps into code a host wrote to SRAM. GO
 * loads the main stack pointer from the word at the address and jumps to the reset handler in
 * the word after it (Thumb: bit 0 set). The only code hosts load there in practice is a reset
 * routine: stm32flash `-R` (stm32.c `stm32_reset_device` → `stm32_run_raw_code`) writes, at the
 * bootloader's RAM start, a stack pointer, the routine's address + 1 and `stm_reset_code`:
 *
 *     ldr r1, [pc, #4]   ; 0xE000ED0C, the Cortex-M AIRCR register
 *     ldr r2, [pc, #8]   ; 0x05FA0004, VECTKEY | SYSRESETREQ
 *     str r2, [r1, #0]   ; request a system reset
 *     b   .              ; wait for it
 *
 * The simulator runs such code with a small interpreter of the Thumb instructions these
 * routines use (LDR literal, LDR/STR with an immediate offset, MOVS immediate, B). A store of
 * VECTKEY with SYSRESETREQ to AIRCR (ARMv6-M/ARMv7-M Architecture Reference Manual, "Application
 * Interrupt and Reset Control Register") is a system reset. Any other code — an instruction
 * outside that subset, a jump elsewhere, or a loop that never resets — is taken to run for
 * ever: the chip no longer answers on the USART until it is reset.
 */
import type { Stm32Memory } from './memory.ts';

/** AIRCR (System Control Block) and the value that requests a system reset. */
const AIRCR = 0xe000ed0c;
const VECTKEY = 0x05fa;
const SYSRESETREQ = 1 << 2;

/** Instructions run before giving up on code that neither resets nor stops. */
const STEP_LIMIT = 100_000;

/** How the code in RAM ended, as far as the simulator can tell. */
export type RamCodeOutcome =
  /** It requested a system reset through AIRCR. */
  | { kind: 'system-reset' }
  /** It runs on for ever (an endless loop, or code outside the interpreter's subset at `pc`). */
  | { kind: 'runs'; pc: number; reason: string };

/**
 * Runs the code GO jumps to at `vectorAddress` (a stack pointer, then a reset handler) until it
 * resets the chip or is seen to run on for ever.
 */
export function runFromRam(memory: Stm32Memory, vectorAddress: number): RamCodeOutcome {
  const word = (address: number): number | undefined => {
    if (!memory.readable(address, 4)) return undefined;
    const b = memory.read(address, 4);
    return (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
  };
  const entry = word(vectorAddress + 4);
  if (entry === undefined) return runs(vectorAddress + 4, 'no reset vector');
  if ((entry & 1) === 0) return runs(entry, 'reset handler is not Thumb code (a HardFault)');
  const r = new Uint32Array(8);
  let pc = entry & ~1;
  for (let step = 0; step < STEP_LIMIT; step++) {
    if (!inRam(memory, pc, 2)) return runs(pc, 'jumps out of RAM');
    const [lo, hi] = memory.read(pc, 2);
    const op = lo! | (hi! << 8);
    const next = pc + 2;
    const top5 = op >>> 11;
    if (top5 === 0b01001) {
      // LDR Rt, [PC, #imm8 * 4]: PC reads as the instruction address + 4, word aligned.
      const value = word(((pc + 4) & ~3) + (op & 0xff) * 4);
      if (value === undefined) return runs(pc, 'reads outside memory');
      r[(op >>> 8) & 7] = value;
    } else if (top5 === 0b00100) {
      r[(op >>> 8) & 7] = op & 0xff; // MOVS Rd, #imm8
    } else if (top5 === 0b01100 || top5 === 0b01101) {
      // STR / LDR Rt, [Rn, #imm5 * 4]
      const address = (r[(op >>> 3) & 7]! + ((op >>> 6) & 0x1f) * 4) >>> 0;
      const rt = op & 7;
      if (top5 === 0b01101) {
        const value = word(address);
        if (value === undefined) return runs(pc, `reads 0x${hex(address)}`);
        r[rt] = value;
      } else if (address === AIRCR) {
        const value = r[rt]!;
        if (value >>> 16 === VECTKEY && value & SYSRESETREQ) return { kind: 'system-reset' };
      } else if (inRam(memory, address, 4)) {
        memory.write(address, Uint8Array.of(r[rt]!, r[rt]! >>> 8, r[rt]! >>> 16, r[rt]! >>> 24));
      } else {
        return runs(pc, `stores to 0x${hex(address)}, which the simulator does not model`);
      }
    } else if (top5 === 0b11100) {
      // B imm11: target = PC + 4 + sign-extended offset * 2.
      const offset = ((op & 0x7ff) << 21) >> 20;
      const target = pc + 4 + offset;
      if (target === pc) return runs(pc, 'waits in an endless loop');
      pc = target;
      continue;
    } else {
      return runs(pc, `instruction 0x${op.toString(16).padStart(4, '0')} is not simulated`);
    }
    pc = next;
  }
  return runs(pc, 'never stops');
}

function inRam(memory: Stm32Memory, address: number, length: number): boolean {
  return address >= 0x20000000 && address + length <= 0x20000000 + memory.sram.length;
}

function runs(pc: number, reason: string): RamCodeOutcome {
  return { kind: 'runs', pc: pc >>> 0, reason };
}

function hex(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}
