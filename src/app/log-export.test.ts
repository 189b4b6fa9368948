import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LogEntry } from '../core/log.ts';
import { filterLog, formatLogJson, formatLogText } from './log-export.ts';

const entry: fc.Arbitrary<LogEntry> = fc.record({
  time: fc.double({ min: 0, max: 1e9, noNaN: true }),
  level: fc.constantFrom('debug', 'info', 'warn', 'error'),
  source: fc.string({ maxLength: 10 }),
  message: fc.string({ maxLength: 80 }),
});

describe('log export', () => {
  it('formats one line per entry', () => {
    expect(
      formatLogText([
        { time: 1500, level: 'info', source: 'esp', message: 'Chip is ESP32-S3' },
        { time: 12_345.6, level: 'error', source: 'engine', message: 'Board lost' },
      ]),
    ).toBe('    1.500 INFO  [esp] Chip is ESP32-S3\n   12.346 ERROR [engine] Board lost\n');
  });

  it('JSON export round-trips the entries', () => {
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 30 }), (entries) => {
        const doc = JSON.parse(formatLogJson(entries, { exportedAt: 'x', app: 'webflash' })) as {
          entries: LogEntry[];
          app: string;
        };
        expect(doc.app).toBe('webflash');
        expect(doc.entries).toEqual(entries);
      }),
    );
  });

  it('filtering keeps order and only matching lines, and leaves the input alone', () => {
    fc.assert(
      fc.property(
        fc.array(entry, { maxLength: 30 }),
        fc.record({
          debug: fc.boolean(),
          info: fc.boolean(),
          warn: fc.boolean(),
          error: fc.boolean(),
        }),
        fc.string({ maxLength: 3 }),
        (entries, levels, text) => {
          const copy = structuredClone(entries);
          const shown = filterLog(entries, { levels, text });
          expect(entries).toEqual(copy);
          const needle = text.trim().toLowerCase();
          const expected = entries.filter(
            (e) =>
              levels[e.level] &&
              (e.message.toLowerCase().includes(needle) || e.source.toLowerCase().includes(needle)),
          );
          expect(shown).toEqual(expected);
        },
      ),
    );
  });
});
