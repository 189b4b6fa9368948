/* eslint-disable no-control-regex -- the assertions look for control characters */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cleanTerminalText, MonitorText } from './monitor-text.ts';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('cleanTerminalText', () => {
  it.each([
    ['\u001b[0;32mI (31) boot: ok\u001b[0m\r\n', 'I (31) boot: ok\n'],
    ['a\rb', 'a\nb'],
    ['bell\u0007 and nul\u0000', 'bell and nul'],
    ['\u001b]0;title\u0007text', 'text'],
    ['\u001b]8;;http://x\u001b\\link', 'link'],
    ['tab\tkept\n', 'tab\tkept\n'],
    ['<script>alert(1)</script>', '<script>alert(1)</script>'],
  ])('cleans %j', (input, out) => {
    expect(cleanTerminalText(input)).toBe(out);
  });

  it('never leaves an escape or control character other than tab and newline', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        expect(cleanTerminalText(s)).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
      }),
    );
  });
});

describe('MonitorText', () => {
  it('decodes UTF-8 and escape sequences cut across chunks', () => {
    const m = new MonitorText();
    const bytes = enc('\u001b[0;32mI (250) app: Grüße\u001b[0m\r\n');
    for (const b of bytes) m.push(Uint8Array.of(b));
    expect(m.text).toBe('I (250) app: Grüße\n');
  });

  it('gives the same text however the bytes are split', () => {
    fc.assert(
      fc.property(fc.string(), fc.array(fc.nat(40), { maxLength: 20 }), (s, cuts) => {
        const bytes = enc(`\u001b[1m${s}\u001b[0m\r\n`);
        const whole = new MonitorText();
        whole.push(bytes);
        const parts = new MonitorText();
        let at = 0;
        for (const c of cuts) {
          parts.push(bytes.subarray(at, Math.min(bytes.length, at + c)));
          at = Math.min(bytes.length, at + c);
        }
        parts.push(bytes.subarray(at));
        expect(parts.text).toBe(whole.text);
      }),
    );
  });

  it('keeps only the newest characters', () => {
    const m = new MonitorText(10);
    m.push(enc('0123456789abc'));
    expect(m.text).toBe('3456789abc');
    m.clear();
    expect(m.text).toBe('');
  });

  it.each([0, -1, 2.5])('refuses a cap of %d', (n) => {
    expect(() => new MonitorText(n)).toThrow(RangeError);
  });
});
