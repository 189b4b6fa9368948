/**
 * Reset sequences as data: the modem-line choreography that puts a board into its bootloader
 * (or back into its application) through DTR and RTS, written in the notation of esptool's
 * custom reset sequences (esptool docs, "Custom Reset Sequence"; esptool-js `ClassicReset`):
 *
 * - `D0` / `D1`: DTR deasserted / asserted;
 * - `R0` / `R1`: RTS deasserted / asserted;
 * - `U0,1`: both at once (DTR, then RTS) in one signal change;
 * - `W100`: wait 100 ms;
 * - steps separated by `|`, e.g. `"D0|R1|W100|D1|R0|W50|D0"`.
 *
 * Shared by every serial protocol (ESP, STM32): each protocol keeps its sequences as strings.
 */
import { sleep, type Clock } from '../core/clock.ts';
import { UsageError, throwIfAborted } from '../core/errors.ts';
import type { SerialLink, SerialSignals } from '../transport/link.ts';

export type ResetStep = { kind: 'signals'; signals: SerialSignals } | { kind: 'wait'; ms: number };

/**
 * Parses a sequence string into steps.
 * @throws {UsageError} naming the first step that is not D0/D1/R0/R1/U<d>,<r>/W<ms>.
 * @example parseResetSequence('D0|R1|W100|R0') // 4 steps
 */
export function parseResetSequence(text: string): ResetStep[] {
  const steps: ResetStep[] = [];
  for (const raw of text.split('|')) {
    const token = raw.trim();
    let m: RegExpExecArray | null;
    if ((m = /^([DR])([01])$/.exec(token))) {
      const on = m[2] === '1';
      steps.push({
        kind: 'signals',
        signals: m[1] === 'D' ? { dataTerminalReady: on } : { requestToSend: on },
      });
    } else if ((m = /^U([01]),([01])$/.exec(token))) {
      steps.push({
        kind: 'signals',
        signals: { dataTerminalReady: m[1] === '1', requestToSend: m[2] === '1' },
      });
    } else if ((m = /^W(\d{1,6})$/.exec(token))) {
      steps.push({ kind: 'wait', ms: Number(m[1]) });
    } else {
      throw new UsageError(
        `Reset sequence "${text}": step "${token}" is not one of D0, D1, R0, R1, U<dtr>,<rts>, W<ms>`,
      );
    }
  }
  return steps;
}

/** Writes steps back in the string notation. */
export function formatResetSequence(steps: readonly ResetStep[]): string {
  return steps
    .map((s) => {
      if (s.kind === 'wait') return `W${s.ms}`;
      const { dataTerminalReady: d, requestToSend: r } = s.signals;
      if (d !== undefined && r !== undefined) return `U${d ? 1 : 0},${r ? 1 : 0}`;
      return d !== undefined ? `D${d ? 1 : 0}` : `R${r ? 1 : 0}`;
    })
    .join('|');
}

export interface RunResetOptions {
  clock: Clock;
  signal?: AbortSignal | undefined;
}

/**
 * Plays a sequence on a link: signal changes go out in order, waits use `clock`. On a link that
 * turns out to have no modem lines (`hasModemLines` false: a pty, a TCP bridge) the signals do
 * nothing, so the rest of the sequence, its waits included, is skipped.
 * @throws {UsageError} for a malformed sequence string; AbortError when `signal` fires.
 */
export async function runResetSequence(
  link: Pick<SerialLink, 'setSignals' | 'hasModemLines'>,
  sequence: string | readonly ResetStep[],
  options: RunResetOptions,
): Promise<void> {
  const steps = typeof sequence === 'string' ? parseResetSequence(sequence) : sequence;
  for (const step of steps) {
    throwIfAborted(options.signal);
    if (link.hasModemLines === false) return;
    if (step.kind === 'wait') await sleep(options.clock, step.ms, options.signal);
    else await link.setSignals(step.signals);
  }
}
