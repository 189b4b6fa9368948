import { describe, expect, it } from 'vitest';
import { UsageError } from '../../core/errors.ts';
import { parseSimArgs } from './args.ts';

describe('npm run sim options', () => {
  it('reads a board on a pty with precise timers, faults and an image', () => {
    const o = parseSimArgs([
      '--board',
      'uno',
      '--pty',
      '/tmp/tty-uno',
      '--precise-timers',
      '--fault',
      'drop:0.01,delay:0.1:50',
      '--image',
      '0x1000:app.bin',
    ]);
    expect(o).toMatchObject({
      board: 'uno',
      pty: '/tmp/tty-uno',
      preciseTimers: true,
      faults: { dropRate: 0.01, delayRate: 0.1, delayMs: 50 },
      images: [{ address: 0x1000, file: 'app.bin' }],
    });
    expect(parseSimArgs(['--board', 'uno', '--listen', ':4000']).preciseTimers).toBe(false);
  });

  it('refuses unknown flags, missing values and a board with nowhere to serve it', () => {
    expect(() => parseSimArgs(['--board', 'uno', '--pty', 'x', '--precise'])).toThrow(UsageError);
    expect(() => parseSimArgs(['--board'])).toThrow(/--board needs a value/);
    expect(() => parseSimArgs(['--board', 'uno'])).toThrow(/--listen HOST:PORT, --pty PATH/);
  });
});
