/**
 * When the customer updater can run (src/customer/support.ts): secure contexts (W3C Secure
 * Contexts §3.1–3.2), Web Serial / WebUSB presence, iframe permissions policy, phones.
 */
import { describe, expect, it } from 'vitest';
import {
  detectSupport,
  isLocalHost,
  isMobile,
  type EnvironmentSnapshot,
} from '../../src/customer/support.ts';

const CHROME_DESKTOP =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36';
const FIREFOX_DESKTOP =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0';
const CHROME_ANDROID =
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Mobile Safari/537.36';
const SAFARI_IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1';

const desktopChrome: EnvironmentSnapshot = {
  isSecureContext: true,
  protocol: 'https:',
  hostname: 'shop.example',
  hasSerial: true,
  hasUsb: true,
  inIframe: false,
  policyAllows: { serial: true, usb: true },
  userAgent: CHROME_DESKTOP,
  uaMobile: false,
};

describe('detectSupport', () => {
  it.each<[string, Partial<EnvironmentSnapshot>, ReturnType<typeof detectSupport>]>([
    ['desktop Chrome over https', {}, { ok: true, transports: ['serial', 'usb'] }],
    [
      'http on localhost is a secure context',
      { protocol: 'http:', hostname: 'localhost' },
      { ok: true, transports: ['serial', 'usb'] },
    ],
    [
      'http on a public host',
      {
        isSecureContext: false,
        protocol: 'http:',
        hostname: 'shop.example',
        hasSerial: false,
        hasUsb: false,
      },
      { ok: false, reason: 'insecure' },
    ],
    [
      'http on a LAN address',
      {
        isSecureContext: false,
        protocol: 'http:',
        hostname: '192.168.1.20',
        hasSerial: false,
        hasUsb: false,
      },
      { ok: false, reason: 'insecure' },
    ],
    [
      'an https frame inside an http page is not secure either',
      { isSecureContext: false, inIframe: true },
      { ok: false, reason: 'insecure' },
    ],
    [
      'engine without isSecureContext: https counts as secure',
      { isSecureContext: undefined },
      { ok: true, transports: ['serial', 'usb'] },
    ],
    [
      'engine without isSecureContext: http on a public host',
      { isSecureContext: undefined, protocol: 'http:' },
      { ok: false, reason: 'insecure' },
    ],
    [
      'engine without isSecureContext: http on 127.0.0.1',
      { isSecureContext: undefined, protocol: 'http:', hostname: '127.0.0.1' },
      { ok: true, transports: ['serial', 'usb'] },
    ],
    ['Web Serial only', { hasUsb: false }, { ok: true, transports: ['serial'] }],
    ['WebUSB only', { hasSerial: false }, { ok: true, transports: ['usb'] }],
    [
      'Firefox on a desktop',
      { hasSerial: false, hasUsb: false, userAgent: FIREFOX_DESKTOP, uaMobile: undefined },
      { ok: false, reason: 'no-api' },
    ],
    [
      'Safari on an iPhone',
      { hasSerial: false, hasUsb: false, userAgent: SAFARI_IPHONE, uaMobile: undefined },
      { ok: false, reason: 'mobile' },
    ],
    [
      'Chrome on Android without the APIs',
      { hasSerial: false, hasUsb: false, userAgent: CHROME_ANDROID, uaMobile: true },
      { ok: false, reason: 'mobile' },
    ],
    [
      'an iframe without allow="serial; usb"',
      { inIframe: true, policyAllows: { serial: false, usb: false } },
      { ok: false, reason: 'blocked-by-embedder' },
    ],
    [
      'an iframe that allows only usb',
      { inIframe: true, policyAllows: { serial: false, usb: true } },
      { ok: true, transports: ['usb'] },
    ],
    [
      'an iframe whose policy the browser cannot report',
      { inIframe: true, policyAllows: undefined },
      { ok: true, transports: ['serial', 'usb'] },
    ],
  ])('%s', (_name, change, expected) => {
    expect(detectSupport({ ...desktopChrome, ...change })).toEqual(expected);
  });
});

describe('detectSupport for a serial-only updater', () => {
  const serialOnly = (change: Partial<EnvironmentSnapshot>) =>
    detectSupport({ ...desktopChrome, ...change }, { usable: ['serial'] });
  it('needs Web Serial: WebUSB alone is not enough', () => {
    expect(serialOnly({})).toEqual({ ok: true, transports: ['serial'] });
    expect(serialOnly({ hasSerial: false })).toEqual({ ok: false, reason: 'no-api' });
    expect(serialOnly({ hasSerial: false, userAgent: CHROME_ANDROID, uaMobile: true })).toEqual({
      ok: false,
      reason: 'mobile',
    });
    expect(serialOnly({ inIframe: true, policyAllows: { serial: false, usb: true } })).toEqual({
      ok: false,
      reason: 'blocked-by-embedder',
    });
  });
});

describe('isLocalHost', () => {
  it.each([
    ['localhost', true],
    ['app.localhost', true],
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['[::1]', true],
    ['localhost.example.com', false],
    ['10.0.0.1', false],
    ['shop.example', false],
    ['127.0.0.1.nip.io', false],
  ])('%s → %s', (host, expected) => expect(isLocalHost(host)).toBe(expected));
});

describe('isMobile', () => {
  it.each([
    [{ userAgent: CHROME_DESKTOP }, false],
    [{ userAgent: SAFARI_IPHONE }, true],
    [{ userAgent: CHROME_ANDROID }, true],
    [{ userAgent: CHROME_ANDROID, uaMobile: false }, true], // Android tablets report mobile: false
    [{ userAgent: CHROME_DESKTOP, uaMobile: true }, true],
  ])('%o → %s', (env, expected) => expect(isMobile(env)).toBe(expected));
});
