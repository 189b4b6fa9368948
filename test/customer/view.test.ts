/**
 * The customer updater's words and controls (src/customer/messages.ts, view.ts): every failure
 * says what happened to the device and what to do; no screen offers options; the aria-live
 * announcement changes only in 10 % steps.
 */
import { describe, expect, it } from 'vitest';
import { BundleError, BUNDLE_REASONS } from '../../src/bundle/errors.ts';
import {
  AbortError,
  ProtocolError,
  TimeoutError,
  TransportError,
  UsageError,
  VerificationError,
  WebflashError,
} from '../../src/core/errors.ts';
import type { UpdaterState } from '../../src/customer/flow.ts';
import { failureText, timeLeftText, UNSUPPORTED_TEXT } from '../../src/customer/messages.ts';
import { OriginRefusedError } from '../../src/customer/origins.ts';
import { viewOf } from '../../src/customer/view.ts';

const JARGON = /\b(bundle|flash|bootloader|baud|serial port|manifest|firmware image)\b/i;

describe('failureText', () => {
  const errors: [string, WebflashError, boolean][] = [
    ['device lost mid-write', new TransportError('transport.device-lost', 'gone'), true],
    ['device lost before writing', new TransportError('transport.device-lost', 'gone'), false],
    ['port busy', new TransportError('transport.port-busy', 'busy'), false],
    ['driver missing', new TransportError('transport.driver-missing', 'x'), false],
    ['no sync', new ProtocolError('protocol.no-sync', 'x'), false],
    ['timeout mid-write', new TimeoutError('WRITE', 100), true],
    ['wrong chip', new ProtocolError('protocol.wrong-chip', 'x'), false],
    ['read-protected', new ProtocolError('protocol.read-protected', 'x'), false],
    ['unsupported protocol', new ProtocolError('protocol.unsupported', 'x'), false],
    ['verify mismatch', new VerificationError('x'), true],
    ['cancelled', new AbortError(), false],
    ['origin refused', new OriginRefusedError('https://evil.example'), false],
    ['page setup', new UsageError('No update file is set on this page.'), false],
    ['other', new WebflashError('framing.overflow', 'x'), true],
  ];

  it.each(errors)('%s: a title, the device state and at least one step', (_n, error, touched) => {
    const t = failureText({ error, flashTouched: touched, protocol: 'esp-serial' });
    expect(t.title.length).toBeGreaterThan(5);
    expect(t.steps.length).toBeGreaterThan(0);
    if (error.code !== 'bundle.origin-refused') {
      expect(t.message).toMatch(
        touched ? /will not start normally until it is updated again/ : /Nothing was changed/,
      );
    }
    expect(`${t.title} ${t.steps.join(' ')}`).not.toMatch(JARGON);
  });

  it.each(BUNDLE_REASONS.map((r) => [r]))('bundle reason %s reads plainly', (reason) => {
    const t = failureText({ error: new BundleError(reason), flashTouched: false });
    expect(t.message).toContain('Nothing was changed on your device.');
    expect(`${t.title} ${t.message} ${t.steps.join(' ')}`).not.toMatch(JARGON);
  });

  it('names the manual update-mode steps for the protocol when the device does not answer', () => {
    const esp = failureText({
      error: new ProtocolError('protocol.no-sync', 'x'),
      flashTouched: false,
      protocol: 'esp-serial',
    });
    expect(esp.steps.join(' ')).toContain('hold the BOOT button, press and release RESET');
    const none = failureText({
      error: new ProtocolError('protocol.no-sync', 'x'),
      flashTouched: false,
    });
    expect(none.steps.join(' ')).not.toContain('BOOT');
  });

  it('download failures speak of the download, not the device', () => {
    const t = failureText({
      error: new TransportError('transport.io', 'The update file could not be downloaded.'),
      flashTouched: false,
      stage: 'download',
    });
    expect(t.title).toBe('The update could not be downloaded');
    expect(t.steps).toEqual(['Check your internet connection, then press Try again.']);
  });

  it('every unsupported screen points to an alternative', () => {
    expect(UNSUPPORTED_TEXT['no-api'].steps).toEqual(['Use Chrome or Edge on a computer.']);
    expect(UNSUPPORTED_TEXT.mobile.steps[0]).toMatch(/computer/);
    expect(UNSUPPORTED_TEXT.insecure.steps[0]).toMatch(/https:\/\//);
    expect(UNSUPPORTED_TEXT['blocked-by-embedder'].steps.join(' ')).toContain(
      'allow="serial; usb"',
    );
  });
});

describe('timeLeftText', () => {
  it.each([
    [undefined, undefined],
    [Number.NaN, undefined],
    [-1, undefined],
    [0, 'A few seconds left'],
    [4_900, 'A few seconds left'],
    [5_000, 'About 5 seconds left'],
    [41_000, 'About 45 seconds left'],
    [59_000, 'About 60 seconds left'],
    [60_000, 'About 1 minute left'],
    [89_000, 'About 1 minute left'],
    [150_000, 'About 3 minutes left'],
  ])('%s ms → %s', (ms, text) => expect(timeLeftText(ms)).toBe(text));
});

describe('viewOf', () => {
  const state = (screen: UpdaterState['screen']): UpdaterState => ({
    screen,
    release: { product: 'widget', version: '2.1.0' },
    device: undefined,
    transport: undefined,
  });

  it('shows the one button only when an update is ready', () => {
    const kinds: UpdaterState['screen'][] = [
      { kind: 'loading', percent: undefined },
      { kind: 'ready', note: undefined },
      { kind: 'choosing' },
      { kind: 'installing', step: 'installing', percent: 10, msLeft: 9_000 },
      { kind: 'success', notice: undefined },
    ];
    expect(kinds.map((s) => viewOf(state(s)).activate)).toEqual([false, true, false, false, false]);
    expect(viewOf(state({ kind: 'ready', note: undefined })).message).toContain('widget 2.1.0');
  });

  it('announces progress in 10 % steps with time left on the bar', () => {
    const at = (percent: number) =>
      viewOf(state({ kind: 'installing', step: 'installing', percent, msLeft: 30_000 }));
    expect(at(41).announce).toBe('Installing the update… 40 percent');
    expect(at(49).announce).toBe(at(41).announce);
    expect(at(50).announce).toBe('Installing the update… 50 percent');
    expect(at(41).percent).toBe(41);
    expect(at(41).timeLeft).toBe('About 30 seconds left');
  });

  it('uses an indeterminate bar while connecting', () => {
    const v = viewOf(
      state({ kind: 'installing', step: 'connecting', percent: undefined, msLeft: undefined }),
    );
    expect(v.percent).toBeNull();
    expect(v.title).toBe('Connecting to your device…');
  });

  it('maps insecure and blocked pages to the not-allowed slot, the rest to unsupported', () => {
    const v = (reason: 'insecure' | 'blocked-by-embedder' | 'mobile' | 'no-api') =>
      viewOf(state({ kind: 'unsupported', reason, text: UNSUPPORTED_TEXT[reason] })).explanation;
    expect([v('insecure'), v('blocked-by-embedder'), v('mobile'), v('no-api')]).toEqual([
      'not-allowed',
      'not-allowed',
      'unsupported',
      'unsupported',
    ]);
  });

  it('offers Try again only where it can help', () => {
    const failed = (retry: 'reload' | 'install' | 'none') =>
      viewOf(
        state({
          kind: 'failed',
          text: { title: 't', message: 'm', steps: ['s'] },
          code: 'timeout',
          reason: undefined,
          flashTouched: false,
          retry,
        }),
      );
    expect([failed('reload').retry, failed('install').retry, failed('none').retry]).toEqual([
      true,
      true,
      false,
    ]);
    expect(failed('none').help).toBe(true);
  });

  it('asks a device that restarted under a new USB identity to be chosen again, in plain words', () => {
    const first = viewOf(state({ kind: 'choose-again', cancelled: false }));
    expect(first).toMatchObject({
      state: 'choose-again',
      tone: 'neutral',
      title: 'One more step',
      message: 'Your device restarted in update mode. Choose it again to continue.',
      steps: [],
      chooseAgain: true,
      giveUp: false,
      activate: false,
      retry: false,
      percent: undefined,
    });
    const again = viewOf(state({ kind: 'choose-again', cancelled: true }));
    expect(again.steps).toEqual([
      'No device was chosen. Press Choose device to try again, or stop the update.',
    ]);
    expect(again.giveUp).toBe(true);
    // A new announcement, so screen readers hear that nothing was chosen.
    expect(again.announce).not.toBe(first.announce);
    for (const v of [first, again]) {
      expect(`${v.title} ${v.message} ${v.steps.join(' ')}`).not.toMatch(JARGON);
    }
    const others = viewOf(
      state({ kind: 'installing', step: 'connecting', percent: undefined, msLeft: undefined }),
    );
    expect([others.chooseAgain, others.giveUp]).toEqual([false, false]);
  });
});
