/**
 * Exported flash logs (docs/flash-log.md, "Export formats"). Both formats are line-oriented
 * UTF-8 text, one canonical entry per line, with a header line that states how many entries
 * follow and the hash of the last one:
 *
 * - JSON Lines (`.jsonl`): the header object on line 1, then one entry per line.
 * - JSON document (`.json`): `{…header…,"entries":[` on line 1, one entry per line followed by
 *   `,` (except the last), and `]}` on the last line: valid JSON for tools such as `jq`.
 *
 * Every line ends with `\n`. The reader accepts exactly this layout: a file that was changed in
 * any byte, cut short or reformatted does not verify, and the verdict names the first entry
 * that is not as written.
 */
import { UsageError } from '../core/errors.ts';
import { canonicalJson, type CanonicalValue } from './canonical.ts';
import { ChainWalker, verifyChain, type ChainVerdict } from './chain.ts';
import type { AuditEntry } from './entry.ts';

/** `format` field of the header. */
const EXPORT_FORMAT_ID = 'webflash-flash-log';
/** `version` field of the header. */
const EXPORT_VERSION = 1;

/** The two export layouts. */
export type ExportFormat = 'jsonl' | 'json';

/** The header line's fields. */
interface ExportHeader {
  format: typeof EXPORT_FORMAT_ID;
  version: number;
  /** Number of entries in the file. */
  count: number;
  /** `hash` of the last entry. */
  head: string;
}

const DOC_OPEN = ',"entries":[';
const DOC_CLOSE = ']}';

/**
 * Writes `entries` (a whole log, genesis first) in `format`.
 * @throws {UsageError} when `entries` is empty or is not an intact chain.
 * @example exportLog(await store.all(), 'jsonl')
 */
export function exportLog(entries: readonly AuditEntry[], format: ExportFormat = 'jsonl'): string {
  const verdict = verifyChain(entries);
  if (!verdict.ok) {
    throw new UsageError(`The flash log is damaged at entry ${verdict.index}: ${verdict.message}`, {
      hints: ['Export it anyway with exportRaw to hand it to an auditor.'],
    });
  }
  return exportRaw(entries, format);
}

/**
 * Writes entries as they are, without checking the chain (for handing a damaged log over).
 * @throws {UsageError} if an entry cannot be canonically encoded, or there are none.
 */
export function exportRaw(entries: readonly AuditEntry[], format: ExportFormat = 'jsonl'): string {
  const last = entries.at(-1);
  if (!last) throw new UsageError('The flash log has no entries to export.');
  const header: ExportHeader = {
    format: EXPORT_FORMAT_ID,
    version: EXPORT_VERSION,
    count: entries.length,
    head: last.hash,
  };
  const head = canonicalJson(header as unknown as CanonicalValue);
  const lines = entries.map((e) => canonicalJson(e as unknown as CanonicalValue));
  if (format === 'jsonl') return [head, ...lines].join('\n') + '\n';
  return [head.slice(0, -1) + DOC_OPEN, lines.join(',\n'), DOC_CLOSE].join('\n') + '\n';
}

/** What `readExport` found in a file. */
export interface ExportReading {
  /** The layout, when the first line could be recognised. */
  format: ExportFormat | undefined;
  header: ExportHeader | undefined;
  /** The entries that verified, in order (all of them when the verdict is ok). */
  entries: AuditEntry[];
  /** Entries after the first break that still parse, for display only. */
  unverified: unknown[];
  verdict: ChainVerdict;
}

/**
 * Reads and verifies an exported log (either format, detected from line 1). Never throws for
 * bad input: the verdict says what is wrong, at which entry.
 * @param options.expectHash a hash recorded earlier (e.g. on a job sheet) that must be in the log.
 * @example readExport(readFileSync('log.jsonl')).verdict // { ok: true, count: 12, head: '…' }
 */
export function readExport(
  input: Uint8Array | string,
  options: { expectHash?: string } = {},
): ExportReading {
  const reading: ExportReading = {
    format: undefined,
    header: undefined,
    entries: [],
    unverified: [],
    verdict: { ok: false, index: -1, reason: 'header', message: '' },
  };
  const lines = splitLines(input);
  const walker = new ChainWalker();
  const done = (): ExportReading => {
    reading.verdict = walker.finish(options);
    return reading;
  };
  const headerFail = (message: string): ExportReading => {
    reading.verdict = { ok: false, index: -1, reason: 'header', message };
    return reading;
  };

  const first = lines[0];
  if (first === undefined || first.text === undefined) {
    return headerFail('line 1 is not a flash-log header (empty file or not UTF-8)');
  }
  let format: ExportFormat;
  let headerText = first.text;
  if (first.text.endsWith(DOC_OPEN)) {
    format = 'json';
    headerText = first.text.slice(0, -DOC_OPEN.length) + '}';
  } else {
    format = 'jsonl';
  }
  const header = parseHeader(headerText);
  if (typeof header === 'string') return headerFail(header);
  reading.format = format;
  reading.header = header;

  // Entry lines: JSON Lines has `count` lines after the header; the document has `count` lines
  // and the closing line. A document that was cut has no closing line.
  const body = lines.slice(1);
  const closed = format === 'json' && body.at(-1)?.text === DOC_CLOSE;
  const entryLines = closed ? body.slice(0, -1) : body;
  for (let i = 0; i < entryLines.length; i++) {
    const line = entryLines[i]!;
    let text = line.text;
    if (format === 'json' && text !== undefined) {
      const isLast = i === entryLines.length - 1;
      const comma = text.endsWith(',');
      if (closed && isLast && comma) walker.fail(i, 'malformed', 'a "," after the last entry');
      if (!isLast && !comma) walker.fail(i, 'malformed', 'the "," after it is missing');
      if (comma) text = text.slice(0, -1);
    }
    const value = parseLine(text);
    if (walker.failure) {
      if (value !== undefined) reading.unverified.push(value);
      continue;
    }
    if (!line.terminated) {
      walker.fail(i, 'truncated', 'the file ends in the middle of this entry');
      continue;
    }
    if (value === undefined) {
      walker.fail(i, 'malformed', line.text === undefined ? 'not valid UTF-8' : 'not valid JSON');
      continue;
    }
    if (walker.push(value)) {
      if (canonicalJson(value as unknown as CanonicalValue) !== text) {
        walker.fail(i, 'malformed', 'not written in canonical form: it was edited or reformatted');
        continue;
      }
      reading.entries.push(value);
    } else {
      reading.unverified.push(value);
    }
  }
  if (walker.failure) return done();

  if (format === 'json' && (!closed || !body.at(-1)?.terminated)) {
    walker.fail(
      Math.min(walker.accepted, header.count),
      'truncated',
      'the document does not end with "]}" and a newline: the file was cut',
    );
    return done();
  }
  if (walker.accepted < header.count) {
    walker.fail(
      walker.accepted,
      'truncated',
      `missing: the header promises ${header.count} entries but the file holds ${walker.accepted}`,
    );
  } else if (walker.accepted > header.count) {
    walker.fail(header.count, 'header', `not counted in the header (${header.count} entries)`);
  } else if (walker.head && walker.head.hash !== header.head) {
    walker.fail(walker.accepted - 1, 'header', 'its hash is not the head hash in the header');
  }
  return done();
}

interface Line {
  /** The line's text, or undefined when it is not valid UTF-8. */
  text: string | undefined;
  /** True when a newline followed it. */
  terminated: boolean;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function splitLines(input: Uint8Array | string): Line[] {
  const lines: Line[] = [];
  if (typeof input === 'string') {
    const parts = input.split('\n');
    const tail = parts.pop() ?? '';
    for (const text of parts) lines.push({ text, terminated: true });
    if (tail !== '') lines.push({ text: tail, terminated: false });
    return lines;
  }
  let start = 0;
  for (let i = 0; i <= input.length; i++) {
    if (i < input.length && input[i] !== 0x0a) continue;
    if (i === input.length && start === i) break;
    let text: string | undefined;
    try {
      text = strictUtf8.decode(input.subarray(start, i));
    } catch {
      text = undefined;
    }
    lines.push({ text, terminated: i < input.length });
    start = i + 1;
  }
  return lines;
}

function parseLine(text: string | undefined): unknown {
  if (text === undefined || text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function parseHeader(text: string): ExportHeader | string {
  const value = parseLine(text);
  const bad = 'line 1 is not a flash-log header';
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return bad;
  const h = value as Record<string, unknown>;
  if (h['format'] !== EXPORT_FORMAT_ID) return `${bad} (format is not "${EXPORT_FORMAT_ID}")`;
  if (h['version'] !== EXPORT_VERSION)
    return `export version ${String(h['version'])} is not supported`;
  const keys = Object.keys(h).sort().join(',');
  if (keys !== 'count,format,head,version') return `${bad} (unexpected or missing fields)`;
  const count = h['count'];
  const head = h['head'];
  if (!Number.isSafeInteger(count) || (count as number) < 1) return `${bad} (bad count)`;
  if (typeof head !== 'string' || !/^[0-9a-f]{64}$/.test(head)) return `${bad} (bad head hash)`;
  const header: ExportHeader = {
    format: EXPORT_FORMAT_ID,
    version: EXPORT_VERSION,
    count: count as number,
    head,
  };
  if (canonicalJson(header as unknown as CanonicalValue) !== text) {
    return 'the header line was edited or reformatted';
  }
  return header;
}
