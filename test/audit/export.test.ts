import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { exportLog, exportRaw, readExport, type ExportFormat } from '../../src/audit/index.ts';
import { UsageError } from '../../src/core/errors.ts';
import { buildLog } from './fixtures.ts';

const utf8 = new TextEncoder();
const FORMATS: ExportFormat[] = ['jsonl', 'json'];

/** Lines of an export; line 0 is the header. */
const lines = (text: string): string[] => text.split('\n');

describe.each(FORMATS)('export format %s', (format) => {
  it('round-trips: export, read back, same entries', async () => {
    const log = await buildLog(6);
    const text = exportLog(log, format);
    const reading = readExport(utf8.encode(text));
    expect(reading.verdict).toEqual({ ok: true, count: 7, head: log[6]!.hash });
    expect(reading.format).toBe(format);
    expect(reading.entries).toEqual(log);
    expect(readExport(text).verdict.ok).toBe(true);
  });

  it('is the documented layout', async () => {
    const text = exportLog(await buildLog(1), format);
    const l = lines(text);
    expect(l.at(-1)).toBe('');
    if (format === 'json') {
      expect(JSON.parse(text)).toMatchObject({ format: 'webflash-flash-log', count: 2 });
      expect(l[0]).toMatch(
        /^\{"count":2,"format":"webflash-flash-log","head":"[0-9a-f]{64}","version":1,"entries":\[$/,
      );
      expect(l.at(-2)).toBe(']}');
    } else {
      expect(l[0]).toMatch(
        /^\{"count":2,"format":"webflash-flash-log","head":"[0-9a-f]{64}","version":1\}$/,
      );
      for (const line of l.slice(0, -1)) expect(() => JSON.parse(line) as unknown).not.toThrow();
    }
  });

  /** Entry i's line in the file, for either format. */
  const entryLine = (i: number): number => i + 1;

  const edits: [string, (l: string[]) => string[], number, string][] = [
    [
      'an edited entry',
      (l) => l.map((s, i) => (i === entryLine(2) ? s.replace('board 1', 'board X') : s)),
      2,
      'hash-mismatch',
    ],
    ['a deleted entry', (l) => l.filter((_, i) => i !== entryLine(2)), 2, 'seq-mismatch'],
    [
      'swapped entries',
      (l) =>
        l.map((s, i, a) =>
          i === entryLine(2) ? a[entryLine(4)]! : i === entryLine(4) ? a[entryLine(2)]! : s,
        ),
      2,
      'seq-mismatch',
    ],
    [
      'a file cut mid-entry',
      (l) => [l.slice(0, entryLine(5)).join('\n') + '\n' + l[entryLine(5)]!.slice(0, 40)],
      5,
      'truncated',
    ],
    [
      'a reformatted entry',
      (l) => l.map((s, i) => (i === entryLine(1) ? s.replace('":', '": ') : s)),
      1,
      'malformed',
    ],
  ];
  it.each(edits)('names the first broken entry: %s', async (name, edit, index, reason) => {
    const text = exportLog(await buildLog(6), format);
    const edited = edit(lines(text)).join('\n');
    const v = readExport(edited).verdict;
    expect(v, name).toMatchObject({ ok: false, index, reason });
  });

  it('names the first missing entry when whole entries are cut off the end', async () => {
    const l = lines(exportLog(await buildLog(6), format));
    const kept = l.slice(0, entryLine(4));
    if (format === 'json') kept[kept.length - 1] = kept.at(-1)!.slice(0, -1);
    const cut = [...kept, ...(format === 'json' ? [']}'] : []), ''].join('\n');
    expect(readExport(cut).verdict).toMatchObject({ ok: false, index: 4, reason: 'truncated' });
  });

  it('names the first entry the header does not count', async () => {
    const log = await buildLog(7);
    const longer = lines(exportLog(log, format));
    longer[0] = lines(exportLog(log.slice(0, 7), format))[0]!;
    expect(readExport(longer.join('\n')).verdict).toMatchObject({
      ok: false,
      index: 7,
      reason: 'header',
    });
  });

  it('names the last entry when the header head hash is wrong', async () => {
    const l = lines(exportLog(await buildLog(3), format));
    l[0] = l[0]!.replace(/"head":"[0-9a-f]{64}"/, `"head":"${'e'.repeat(64)}"`);
    expect(readExport(l.join('\n')).verdict).toMatchObject({
      ok: false,
      index: 3,
      reason: 'header',
    });
  });

  it('catches a new header over a cut log only with --expect', async () => {
    const log = await buildLog(6);
    const cut = exportLog(log.slice(0, 4), format);
    expect(readExport(cut).verdict.ok).toBe(true);
    expect(readExport(cut, { expectHash: log[6]!.hash }).verdict).toMatchObject({
      ok: false,
      index: 4,
      reason: 'missing-anchor',
    });
  });

  it('detects any single-byte change (property)', async () => {
    const bytes = utf8.encode(exportLog(await buildLog(4), format));
    fc.assert(
      fc.property(
        fc.nat({ max: bytes.length - 1 }),
        fc.integer({ min: 1, max: 255 }),
        (pos, delta) => {
          const changed = bytes.slice();
          changed[pos] = (changed[pos]! + delta) & 0xff;
          expect(readExport(changed).verdict.ok).toBe(false);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('detects any deleted or inserted byte (property)', async () => {
    const bytes = utf8.encode(exportLog(await buildLog(3), format));
    fc.assert(
      fc.property(
        fc.nat({ max: bytes.length - 1 }),
        fc.nat({ max: 255 }),
        fc.boolean(),
        (pos, b, insert) => {
          const changed = insert
            ? new Uint8Array([...bytes.subarray(0, pos), b, ...bytes.subarray(pos)])
            : new Uint8Array([...bytes.subarray(0, pos), ...bytes.subarray(pos + 1)]);
          expect(readExport(changed).verdict.ok).toBe(false);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('readExport rejects files that are not flash logs', () => {
  it.each([
    ['an empty file', ''],
    ['a blank line', '\n'],
    ['JSON that is not a header', '{"a":1}\n'],
    [
      'another format',
      '{"count":1,"format":"other","head":"' + '0'.repeat(64) + '","version":1}\n',
    ],
    [
      'a future version',
      '{"count":1,"format":"webflash-flash-log","head":"' + '0'.repeat(64) + '","version":2}\n',
    ],
    [
      'a header with spaces',
      '{"count": 1,"format":"webflash-flash-log","head":"' + '0'.repeat(64) + '","version":1}\n',
    ],
    [
      'a header with a zero count',
      '{"count":0,"format":"webflash-flash-log","head":"' + '0'.repeat(64) + '","version":1}\n',
    ],
    [
      'a header with an extra field',
      '{"count":1,"format":"webflash-flash-log","head":"' +
        '0'.repeat(64) +
        '","version":1,"x":1}\n',
    ],
    ['binary', new Uint8Array([0xff, 0xfe, 0x0a])],
  ])('%s', (_name, input) => {
    expect(readExport(input).verdict).toMatchObject({ ok: false, index: -1, reason: 'header' });
  });

  it('rejects invalid UTF-8 inside an entry line', async () => {
    const bytes = utf8.encode(exportLog(await buildLog(2), 'jsonl'));
    const at = bytes.indexOf(0x0a) + 10; // inside entry 0
    bytes[at] = 0xc3;
    expect(readExport(bytes).verdict).toMatchObject({ ok: false, index: 0, reason: 'malformed' });
  });

  it('exportLog refuses a damaged chain; exportRaw writes it for an auditor', async () => {
    const log = await buildLog(2);
    const damaged = [log[0]!, log[2]!];
    expect(() => exportLog(damaged)).toThrow(UsageError);
    expect(readExport(exportRaw(damaged)).verdict).toMatchObject({ ok: false, index: 1 });
    expect(() => exportRaw([])).toThrow(UsageError);
  });
});
