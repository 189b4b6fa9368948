import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../core/clock.ts';
import { AbortError, UsageError } from '../core/errors.ts';
import type { SerialSignals } from '../transport/link.ts';
import { formatResetSequence, parseResetSequence, runResetSequence } from './reset-sequence.ts';

describe('reset sequences', () => {
  it('parses the esptool classic reset (esptool docs "Custom Reset Sequence")', () => {
    expect(parseResetSequence('D0|R1|W100|D1|R0|W50|D0')).toEqual([
      { kind: 'signals', signals: { dataTerminalReady: false } },
      { kind: 'signals', signals: { requestToSend: true } },
      { kind: 'wait', ms: 100 },
      { kind: 'signals', signals: { dataTerminalReady: true } },
      { kind: 'signals', signals: { requestToSend: false } },
      { kind: 'wait', ms: 50 },
      { kind: 'signals', signals: { dataTerminalReady: false } },
    ]);
    expect(parseResetSequence('U0,1|W100|U1,0')).toEqual([
      { kind: 'signals', signals: { dataTerminalReady: false, requestToSend: true } },
      { kind: 'wait', ms: 100 },
      { kind: 'signals', signals: { dataTerminalReady: true, requestToSend: false } },
    ]);
  });

  it('round-trips through the string notation', () => {
    const step = fc.oneof(
      fc.constantFrom('D0', 'D1', 'R0', 'R1', 'U0,0', 'U0,1', 'U1,0', 'U1,1'),
      fc.integer({ min: 0, max: 999_999 }).map((n) => `W${n}`),
    );
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 20 }), (steps) => {
        const text = steps.join('|');
        expect(formatResetSequence(parseResetSequence(text))).toBe(text);
      }),
    );
  });

  it.each(['', 'D2', 'X1', 'W', 'W-5', 'W1234567', 'D0||R1', 'U1', 'U1,2', 'd0'])(
    'rejects "%s"',
    (text) => {
      expect(() => parseResetSequence(text)).toThrow(UsageError);
    },
  );

  it('plays the steps in order with the waits on the clock', async () => {
    const clock = new VirtualClock({ yieldToHost: setImmediate });
    const seen: [number, SerialSignals][] = [];
    const link = {
      setSignals: (s: SerialSignals) => {
        seen.push([clock.now(), s]);
        return Promise.resolve();
      },
    };
    await runResetSequence(link, 'D1|R1|W100|R0|W50', { clock });
    expect(seen).toEqual([
      [0, { dataTerminalReady: true }],
      [0, { requestToSend: true }],
      [100, { requestToSend: false }],
    ]);
    expect(clock.now()).toBe(150);
  });

  it('skips the rest, waits included, once the link finds it has no modem lines (a pty)', async () => {
    const clock = new VirtualClock({ yieldToHost: setImmediate });
    const seen: SerialSignals[] = [];
    const link = {
      hasModemLines: true,
      setSignals(s: SerialSignals) {
        seen.push(s);
        this.hasModemLines = false; // the first TIOCMSET fails with ENOTTY
        return Promise.resolve();
      },
    };
    await runResetSequence(link, 'U0,0|W250|U1,1|W100', { clock });
    expect(seen).toEqual([{ dataTerminalReady: false, requestToSend: false }]);
    expect(clock.now()).toBe(0);
    // A link with lines plays everything.
    await runResetSequence({ hasModemLines: true, setSignals: () => Promise.resolve() }, 'W250', {
      clock,
    });
    expect(clock.now()).toBe(250);
  });

  it('stops when aborted', async () => {
    const clock = new VirtualClock({ yieldToHost: setImmediate });
    const ctl = new AbortController();
    const link = { setSignals: () => Promise.resolve() };
    const run = runResetSequence(link, 'D1|W1000|D0', { clock, signal: ctl.signal });
    ctl.abort();
    await expect(run).rejects.toThrow(AbortError);
  });
});
