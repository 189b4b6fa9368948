/**
 * The bench report: CSV per RFC 4180 §2 (quoting, doubled quotes, CRLF), formula-looking cells
 * neutralised (OWASP "CSV Injection"), the JSON document's summary, and the tally. A fast-check
 * round trip parses the CSV back with an RFC 4180 reader and finds every field unchanged.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  csvField,
  exportFileName,
  REPORT_COLUMNS,
  reportCsv,
  reportJson,
  tally,
  type ReportDocument,
} from '../../src/bench/state/report.ts';
import type { BenchRecord, Tile } from '../../src/bench/state/types.ts';

const SHA = 'ab'.repeat(32);

function record(over: Partial<BenchRecord> = {}): BenchRecord {
  return {
    time: '2026-03-01T09:30:00.000Z',
    tileId: 'board-1',
    port: 'USB serial 303a:1001',
    uniqueId: 'f4:12:fa:01:02:03',
    chip: 'esp32s3',
    product: 'blink',
    version: '1.2.0',
    bundleSha256: SHA,
    result: 'ok',
    errorCode: null,
    durationMs: 5123,
    note: '',
    ...over,
  };
}

/** An RFC 4180 §2 reader: quoted fields with doubled quotes, CRLF record ends. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let i = 0;
  let quoted = false;
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 2;
        continue;
      }
      if (c === '"') quoted = false;
      else field += c;
      i++;
      continue;
    }
    if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += c;
    i++;
  }
  return rows;
}

describe('csvField', () => {
  const cases: [string | number | null, string][] = [
    ['plain', 'plain'],
    [42, '42'],
    [null, ''],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\r\nlines', '"two\r\nlines"'],
    ['line\nfeed', '"line\nfeed"'],
    ['=1+2', "'=1+2"],
    ['+33 1', "'+33 1"],
    ['-5', "'-5"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\tx', "'\tx"],
    ['=HYPERLINK("x")', `"'=HYPERLINK(""x"")"`],
    ['', ''],
  ];
  it.each(cases)('%j → %j', (input, out) => expect(csvField(input)).toBe(out));
  it('does not touch negative numbers given as numbers', () => expect(csvField(-5)).toBe('-5'));
});

describe('reportCsv', () => {
  it('writes a header and one CRLF line per record', () => {
    const csv = reportCsv([record(), record({ result: 'failed', errorCode: 'timeout' })]);
    const lines = csv.split('\r\n');
    expect(lines[0]).toBe(REPORT_COLUMNS.join(','));
    expect(lines[1]).toBe(
      `2026-03-01T09:30:00.000Z,f4:12:fa:01:02:03,esp32s3,blink,1.2.0,${SHA},ok,,5123,USB serial 303a:1001,`,
    );
    expect(lines[2]).toContain(',failed,timeout,');
    expect(lines.at(-1)).toBe('');
  });

  it('round-trips every field through an RFC 4180 reader', () => {
    const text = fc.string({ unit: 'grapheme', maxLength: 30 });
    fc.assert(
      fc.property(
        fc.array(fc.record({ note: text, port: text, uniqueId: text }), { maxLength: 5 }),
        (over) => {
          const records = over.map((o) => record(o));
          const rows = parseCsv(reportCsv(records));
          expect(rows[0]).toEqual([...REPORT_COLUMNS]);
          records.forEach((r, i) => {
            const row = rows[i + 1]!;
            REPORT_COLUMNS.forEach((c, j) => {
              const want = r[c] === null ? '' : String(r[c]);
              const got = row[j]!;
              // A formula-looking text cell carries one leading apostrophe.
              expect(
                /^[=+\-@\t\r]/.test(want) && typeof r[c] === 'string' ? got.slice(1) : got,
              ).toBe(want);
            });
          });
        },
      ),
      { seed: 5150, numRuns: 200 },
    );
  });
});

describe('reportJson', () => {
  it('summarises results and counts each board once', () => {
    const records = [
      record({ uniqueId: 'a', result: 'failed', errorCode: 'transport.device-lost' }),
      record({ uniqueId: 'a' }),
      record({ uniqueId: 'b' }),
      record({ uniqueId: '', tileId: 'board-9', result: 'cancelled', errorCode: 'aborted' }),
    ];
    const bundle = {
      product: 'blink',
      version: '1.2.0',
      sha256: SHA,
      chips: ['esp32s3'],
      bundleBytes: 1000,
      source: 'x.fwb',
    };
    const doc = JSON.parse(
      reportJson(records, { exportedAt: new Date('2026-03-01T10:00:00Z'), bundle }),
    ) as ReportDocument;
    expect(doc.format).toBe('webflash-bench-report');
    expect(doc.exportedAt).toBe('2026-03-01T10:00:00.000Z');
    expect(doc.bundle).toEqual(bundle);
    expect(doc.summary).toEqual({ flashes: 4, ok: 2, failed: 1, cancelled: 1, boardsOk: 2 });
    expect(doc.records).toEqual(records);
  });

  it('writes null for a bench without a release', () => {
    const doc = JSON.parse(
      reportJson([], { exportedAt: new Date(0), bundle: undefined }),
    ) as ReportDocument;
    expect(doc.bundle).toBeNull();
    expect(doc.records).toEqual([]);
  });
});

describe('tally', () => {
  it('counts tiles by state and records by attempt', () => {
    const tile = (state: Tile['state']) => ({ state }) as Tile;
    const t = tally(
      [
        tile('running'),
        tile('done'),
        tile('done'),
        tile('failed'),
        tile('cancelled'),
        tile('waiting'),
        tile('skipped'),
      ],
      [record(), record(), record()],
    );
    expect(t).toEqual({
      boards: 7,
      running: 1,
      waiting: 1,
      ok: 2,
      failed: 2,
      skipped: 1,
      flashes: 3,
    });
  });
});

describe('exportFileName', () => {
  it('stamps the UTC time', () => {
    const at = new Date('2026-03-01T09:30:05.123Z');
    expect(exportFileName('report', 'csv', at)).toBe('webflash-bench-20260301-093005.csv');
    expect(exportFileName('log', 'jsonl', at)).toBe(
      'webflash-bench-flash-log-20260301-093005.jsonl',
    );
  });
});
