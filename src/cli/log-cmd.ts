/**
 * `webflash log verify` and `webflash log show`: check and read a flash log exported from the
 * web app (docs/flash-log.md).
 */
import { readExport, type ChainVerdict, type ExportReading } from '../audit/index.ts';
import type { AuditEntry } from '../audit/index.ts';
import { readBytes } from './files.ts';
import { CliUsageError, type Command, EXIT, group, parse } from './io.ts';
import { onePositional } from './root-cmd.ts';

const HEX64 = /^[0-9a-fA-F]{64}$/;

function expectOption(value: string | undefined): { expectHash?: string } {
  if (value === undefined) return {};
  if (!HEX64.test(value)) throw new CliUsageError('--expect must be a 64-digit SHA-256 hex hash');
  return { expectHash: value.toLowerCase() };
}

/** "entry 3: …" or "header: …" for a broken verdict. */
function describeBreak(verdict: Extract<ChainVerdict, { ok: false }>): string {
  const where = verdict.index < 0 ? 'header' : `entry ${verdict.index}`;
  return `${where}: ${verdict.reason}: ${verdict.message}`;
}

const verifyLog: Command = {
  name: 'verify',
  summary: 'check that an exported flash log is complete and unchanged',
  help: `webflash log verify FILE [--expect HASH] [--json]

Checks a flash log exported from the web app (JSON Lines or JSON): every entry is intact, in
order, chained to the one before it, and the file holds as many entries as its header says.
Exit 0 when the log verifies; otherwise exit 1 and print the first broken entry, e.g.
"entry 4: seq-mismatch: it is entry 5 of the log: entries before it are missing".

Options:
  --expect HASH   also require an entry with this hash (a head hash written down earlier, so
                  that a log cut short and given a new header is caught)
  --json          print one JSON object: {"ok":true,"count":…,"head":…} or
                  {"ok":false,"index":…,"reason":…,"message":…}`,
  run: async (args, io) => {
    const { values, positionals } = parse(
      args,
      { expect: { type: 'string' }, json: { type: 'boolean' } },
      true,
    );
    const file = onePositional(positionals, 'log file');
    const reading = readExport(await readBytes(io, file), expectOption(values.expect));
    const v = reading.verdict;
    if (values.json) {
      io.out(JSON.stringify(v.ok ? { ...v, format: reading.format } : v) + '\n');
    } else if (v.ok) {
      io.out(`OK: ${v.count} entries, head ${v.head}\n`);
    } else {
      io.out(`BROKEN: ${describeBreak(v)}\n`);
    }
    return v.ok ? EXIT.ok : EXIT.rejected;
  },
};

const showLog: Command = {
  name: 'show',
  summary: 'list the entries of an exported flash log (and verify it)',
  help: `webflash log show FILE [--json]

Lists the flashes in an exported log, oldest first, then the verification verdict. Entries
after a break are listed as UNVERIFIED. Exit 0 when the log verifies, 1 when it does not.

Options:
  --json   print {"verdict":…,"entries":[…],"unverified":[…]}`,
  run: async (args, io) => {
    const { values, positionals } = parse(args, { json: { type: 'boolean' } }, true);
    const file = onePositional(positionals, 'log file');
    const reading = readExport(await readBytes(io, file));
    if (values.json) {
      io.out(
        JSON.stringify({
          verdict: reading.verdict,
          format: reading.format,
          entries: reading.entries,
          unverified: reading.unverified,
        }) + '\n',
      );
    } else {
      io.out(showText(reading));
    }
    return reading.verdict.ok ? EXIT.ok : EXIT.rejected;
  },
};

function showText(reading: ExportReading): string {
  const lines = reading.entries.map(entryLine);
  for (const value of reading.unverified) {
    const e = value as Partial<AuditEntry> | null;
    lines.push(`UNVERIFIED  ${typeof e === 'object' && e ? JSON.stringify(e) : String(value)}`);
  }
  const v = reading.verdict;
  lines.push('', v.ok ? `OK: ${v.count} entries, head ${v.head}` : `BROKEN: ${describeBreak(v)}`);
  return lines.join('\n') + '\n';
}

function entryLine(e: AuditEntry): string {
  const seq = String(e.seq).padStart(4);
  if (e.kind === 'genesis') return `${seq}  ${e.time}  log started (id ${e.logId})`;
  const result = e.result === 'ok' ? 'ok' : `FAILED ${e.errorCode ?? ''}`;
  const device = [e.chip, e.deviceId, e.port && `on ${e.port}`].filter(Boolean).join(' ');
  const secs = (e.durationMs / 1000).toFixed(1);
  const note = e.note ? `  "${e.note}"` : '';
  return `${seq}  ${e.time}  ${e.mode}  ${device}  ${e.bundle.product} ${e.bundle.version}  ${result}  ${secs} s${note}`;
}

/** `webflash log …`: the flash-log commands. */
export const logCommand: Command = group('log', 'verify and read exported flash logs', [
  verifyLog,
  showLog,
]);
