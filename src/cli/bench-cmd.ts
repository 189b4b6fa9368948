/**
 * `webflash bench`: the provisioning bench without a browser. Every board on a matching serial
 * port (and with `--usb`, every matching USB device) is flashed in parallel; with `--watch`,
 * every board plugged in later too. One line per board as the bench page's tile shows it; the
 * report (CSV or JSON) and the flash log in the browser bench's formats (src/audit/bench-report.ts),
 * which `webflash log verify` checks.
 */
import { writeFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import {
  reportCsv,
  reportJson,
  toFlashRecord,
  type BenchBundleInfo,
  type BenchRecord,
} from '../audit/bench-report.ts';
import type { VerifiedBundle } from '../bundle/verify.ts';
import { sleep } from '../core/clock.ts';
import { asWebflashError } from '../core/errors.ts';
import type { JobResult } from '../job/types.ts';
import { matchPortPaths, NodePortWatcher, serialPortAt } from '../platform/node/ports.ts';
import { nodeUserAgent } from '../platform/node/usb.ts';
import { WebUsbWatcher } from '../transport/webusb.ts';
import type { UsbDeviceHandle } from '../transport/usb.ts';
import {
  runSerialBoardJob,
  boardJobContext,
  runUsbBoardJob,
  serialProtocolFor,
  type BoardJobContext,
} from './board-job.ts';
import type { BaudSetting } from '../protocols/link-speed.ts';
import { baudOption, protocolOption, usbFilterOption } from './flash-cmd.ts';
import {
  cancelOnInterrupt,
  JOB_OPTIONS,
  nodePlatform,
  openStores,
  type HeadlessPlatform,
} from './headless.ts';
import { CliUsageError, EXIT, parse, type CliIo, type Command } from './io.ts';
import { JobPrinter, outcomeName } from './job-output.ts';
import { downgradeOverride, loadRelease } from './release.ts';

const HELP = `webflash bench BUNDLE --ports GLOB... [--usb VID:PID] [--watch] [--report FILE] [options]

Flashes every board on a serial port matching GLOB (e.g. '/dev/ttyUSB*'; quote it, or let the
shell expand it) and, with --usb, every matching USB DFU device — all in parallel. With --watch
it keeps going: every board plugged in later is flashed as soon as it appears, until Ctrl-C or
--count boards are done. A board is flashed once while it stays plugged in.

Options:
  --ports GLOB...      serial ports (several patterns or paths allowed)
  --usb VID:PID        USB devices with these ids
  --watch              also flash boards plugged in later
  --count N            stop after N boards (with --watch)
  --report FILE        the report, CSV (.csv) or JSON (.json), rewritten after every board
  --root FILE          trust root (default: WEBFLASH_TRUST_ROOT)
  --log FILE           flash log (default ./webflash-log.jsonl)
  --board ID, --protocol ID, --baud N|auto, --no-delta, --allow-downgrade R, --note TEXT: as
                       for 'webflash flash'
  --json               one JSON event per line, each with its "board"

Exit codes: 0 every board verified; otherwise the code of the first board that failed (see
'webflash flash --help'); 130 when cancelled.`;

interface BenchRun {
  ctx: BoardJobContext;
  bundle: VerifiedBundle;
  info: BenchBundleInfo;
  records: BenchRecord[];
  codes: number[];
  next: number;
  note: string;
  reportPath: string | undefined;
  audit: { append: (r: ReturnType<typeof toFlashRecord>) => Promise<unknown> };
}

/** The bench command on a given platform (tests pass a fake WebUSB). */
export function createBenchCommand(platform: HeadlessPlatform = nodePlatform): Command {
  return {
    name: 'bench',
    summary: 'flash every board on matching ports in parallel (the provisioning bench)',
    help: HELP,
    run: (args, io) => runBench(platform, args, io),
  };
}

export const benchCommand: Command = createBenchCommand();

async function runBench(platform: HeadlessPlatform, args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      ...JOB_OPTIONS,
      ports: { type: 'string', multiple: true },
      usb: { type: 'string' },
      watch: { type: 'boolean' },
      count: { type: 'string' },
      report: { type: 'string' },
    },
    true,
  );
  const [where, ...morePorts] = positionals;
  if (where === undefined) throw new CliUsageError('expected a bundle file or URL');
  // `--ports /dev/ttyUSB*` unquoted: the shell's expansion leaves further paths as positionals.
  const patterns = [...(values.ports ?? []), ...morePorts];
  if (morePorts.length > 0 && !values.ports) throw new CliUsageError('unexpected arguments');
  if (patterns.length === 0 && values.usb === undefined) {
    throw new CliUsageError('give --ports GLOB and/or --usb VID:PID');
  }
  const count = values.count === undefined ? undefined : Number(values.count);
  if (count !== undefined && (!Number.isSafeInteger(count) || count < 1)) {
    throw new CliUsageError('--count must be a whole number ≥ 1');
  }
  const reportPath = values.report === undefined ? undefined : resolve(io.cwd, values.report);
  if (reportPath && !['.csv', '.json'].includes(extname(reportPath))) {
    throw new CliUsageError('--report must name a .csv or .json file');
  }
  const baud = baudOption(values.baud);
  const choice = protocolOption(values.protocol);
  const usbFilter = values.usb === undefined ? undefined : usbFilterOption(values.usb);
  const override = downgradeOverride(values['allow-downgrade'], values.note);
  const { clock } = platform;
  const mode = values.json ? 'json' : 'plain';
  const main = new JobPrinter({ mode, out: io.out, err: io.err });
  const logger = main.logger(() => clock.now());
  const controller = new AbortController();
  const off = cancelOnInterrupt(io, controller, (t) => main.line(t, 'err'));
  try {
    const stores = await openStores(io, values.log, platform.now);
    const { bundle, name } = await loadRelease({
      io,
      bundle: where,
      root: values.root,
      rollbackStore: stores.rollbackStore,
      override,
      signal: controller.signal,
      logger,
    });
    const m = bundle.manifest;
    const run: BenchRun = {
      ctx: boardJobContext({
        bundle,
        rollbackStore: stores.rollbackStore,
        override,
        board: values.board,
        clock,
        logger,
        baud,
        noDelta: values['no-delta'],
      }),
      bundle,
      info: {
        product: m.product,
        version: m.version,
        sha256: bundle.bundleSha256,
        chips: [...new Set(m.targets.map((t) => t.chip))],
        bundleBytes: bundle.bundleBytes,
        source: name,
      },
      records: [],
      codes: [],
      next: 1,
      note: values.note ?? '',
      reportPath,
      audit: stores.audit,
    };
    main.line(
      `release ${m.product} ${m.version} verified; bench ${values.watch ? 'watching' : 'running'}`,
    );
    if (values.json) main.json('bundle', { ...run.info, rootVersion: bundle.root.version });

    const usb = usbFilter ? await platform.usb() : undefined;
    const usbWatcher = usb
      ? new WebUsbWatcher({ usb, userAgent: nodeUserAgent(), clock })
      : undefined;
    const serialWatcher = new NodePortWatcher({ clock, logger, list: platform.listPorts });
    const knownPaths = new Set<string>();
    const knownDevices = new Set<unknown>();
    const running = new Set<Promise<void>>();
    const start = (job: Promise<void>): void => {
      running.add(job);
      void job.finally(() => running.delete(job));
    };
    const done = (): boolean => count !== undefined && run.codes.length >= count;
    for (;;) {
      // Serial ports that appeared since the last look (a path that went away is forgotten, so
      // a board plugged into it again is a new board).
      const paths = matchPortPaths(patterns);
      for (const known of [...knownPaths]) if (!paths.includes(known)) knownPaths.delete(known);
      for (const path of paths) {
        if (knownPaths.has(path)) continue;
        knownPaths.add(path);
        start(
          serialBoard(
            run,
            io,
            values.json,
            path,
            choice,
            baud,
            serialWatcher,
            controller,
            platform,
          ),
        );
      }
      if (usbWatcher && usbFilter) {
        for (const handle of await usbWatcher.list([usbFilter])) {
          const key = (handle as unknown as { device: unknown }).device;
          if (knownDevices.has(key)) continue;
          knownDevices.add(key);
          start(usbBoard(run, io, values.json, handle, usbWatcher, controller));
        }
      }
      if (!values.watch || controller.signal.aborted || done()) break;
      await sleep(clock, 250, controller.signal).catch(() => undefined);
    }
    while (running.size > 0) await Promise.all([...running]);
    const failed = run.codes.find((c) => c !== EXIT.ok);
    const ok = run.codes.filter((c) => c === EXIT.ok).length;
    main.line(
      `bench: ${run.codes.length} board(s), ${ok} verified, ${run.codes.length - ok} failed` +
        (reportPath ? `; report ${reportPath}` : '') +
        `; flash log ${stores.logPath}`,
    );
    if (values.json) main.json('summary', { boards: run.codes.length, ok, log: stores.logPath });
    if (run.codes.length === 0 && !controller.signal.aborted) {
      main.line('no board found on the given ports', 'err');
      return EXIT.failure;
    }
    if (controller.signal.aborted) return EXIT.cancelled;
    return failed ?? EXIT.ok;
  } finally {
    off();
  }
}

function boardPrinter(io: CliIo, json: boolean | undefined, board: string): JobPrinter {
  return new JobPrinter({ mode: json ? 'json' : 'plain', out: io.out, err: io.err, board });
}

async function serialBoard(
  run: BenchRun,
  io: CliIo,
  json: boolean | undefined,
  path: string,
  choice: ReturnType<typeof protocolOption>,
  baud: BaudSetting | undefined,
  watcher: NodePortWatcher,
  controller: AbortController,
  platform: HeadlessPlatform,
): Promise<void> {
  const tileId = `board-${run.next++}`;
  const printer = boardPrinter(io, json, tileId);
  const handle = await serialPortAt(path, {
    clock: run.ctx.clock,
    logger: run.ctx.logger,
    list: platform.listPorts,
    sysfs: platform.sysfs,
  });
  printer.line(`${handle.info.label}: plugged in`);
  let result: JobResult;
  try {
    const protocol = serialProtocolFor(run.bundle, handle.info, choice);
    result = await runSerialBoardJob(run.ctx, {
      handle,
      protocol,
      watcher,
      baud,
      signal: controller.signal,
      on: printer.listeners(),
    });
  } catch (err) {
    result = refused(err);
  }
  await finish(run, printer, tileId, handle.info.label, result);
}

async function usbBoard(
  run: BenchRun,
  io: CliIo,
  json: boolean | undefined,
  handle: UsbDeviceHandle,
  watcher: WebUsbWatcher,
  controller: AbortController,
): Promise<void> {
  const tileId = `board-${run.next++}`;
  const printer = boardPrinter(io, json, tileId);
  printer.line(`${handle.info.label}: plugged in`);
  let result: JobResult;
  try {
    result = await runUsbBoardJob(run.ctx, {
      handle,
      watcher,
      signal: controller.signal,
      on: printer.listeners(),
    });
  } catch (err) {
    result = refused(err);
  }
  await finish(run, printer, tileId, handle.info.label, result);
}

/** A board no protocol fits: a failed flash with nothing touched. */
function refused(err: unknown): JobResult {
  return {
    ok: false,
    cancelled: false,
    error: asWebflashError(err, 'usage.invalid-argument'),
    phase: 'idle',
    recovery: '',
    flashTouched: false,
    durationMs: 0,
  };
}

/** The board's report record, flash-log entry, report file and tile line. */
async function finish(
  run: BenchRun,
  printer: JobPrinter,
  tileId: string,
  port: string,
  result: JobResult,
): Promise<void> {
  const identity = result.identity;
  const record: BenchRecord = {
    time: new Date().toISOString(),
    tileId,
    port,
    uniqueId: identity?.uniqueId ?? '',
    chip: identity?.chip ?? '',
    product: run.info.product,
    version: run.info.version,
    bundleSha256: run.info.sha256,
    result: result.ok ? 'ok' : result.cancelled ? 'cancelled' : 'failed',
    errorCode: result.ok ? null : result.error.code,
    durationMs: Math.round(result.durationMs),
    note: run.note,
  };
  run.records.push(record);
  try {
    await run.audit.append(toFlashRecord(record));
  } catch (err) {
    printer.line(
      `could not write the flash log: ${asWebflashError(err, 'transport.io').message}`,
      'err',
    );
  }
  if (run.reportPath) {
    const text =
      extname(run.reportPath) === '.csv'
        ? reportCsv(run.records)
        : reportJson(run.records, { exportedAt: new Date(), bundle: run.info });
    await writeFile(run.reportPath, text);
  }
  const code = printer.result(result, { port });
  run.codes.push(code);
  printer.line(
    `${port}  ${identity?.chip ?? '?'}  ${record.uniqueId || '-'}  ${record.result === 'ok' ? 'done' : `${record.result} [${record.errorCode}] (exit ${code}, ${outcomeName(code)})`}  ${(record.durationMs / 1000).toFixed(1)} s`,
  );
}
