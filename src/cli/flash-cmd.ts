/**
 * `webflash flash`: verify a release, then flash one board on a serial port or a USB device
 * with the same engine, job runner, verification and flash log as the browser (docs/headless.md).
 */
import { BundleError } from '../bundle/errors.ts';
import type { VerifiedBundle } from '../bundle/verify.ts';
import { UsageError } from '../core/errors.ts';
import type { JobResult } from '../job/types.ts';
import { NodePortWatcher, serialPortAt } from '../platform/node/ports.ts';
import { nodeUserAgent, parseUsbId } from '../platform/node/usb.ts';
import { isProtocolOf, type SerialChoice } from '../protocols/registry.ts';
import { parseBaudSetting, type BaudSetting } from '../protocols/link-speed.ts';
import { WebUsbWatcher } from '../transport/webusb.ts';
import {
  boardJobContext,
  runSerialBoardJob,
  runUsbBoardJob,
  serialProtocolFor,
} from './board-job.ts';
import {
  cancelOnInterrupt,
  flashRecordOf,
  JOB_OPTIONS,
  nodePlatform,
  openStores,
  outputMode,
  type HeadlessPlatform,
} from './headless.ts';
import { CliUsageError, EXIT, parse, type CliIo, type Command } from './io.ts';
import { JobPrinter, outcomeName } from './job-output.ts';
import { downgradeOverride, loadRelease } from './release.ts';
import { onePositional } from './root-cmd.ts';

const HELP = `webflash flash BUNDLE (--port PATH | --usb VID:PID[:SERIAL]) [options]

Verifies the bundle (a file, or an https URL streamed and verified while it downloads), then
connects to the board, checks that the release is for it and is not a downgrade, writes,
verifies and restarts it. Every flash is appended to the hash-chained flash log.

Options:
  --port PATH          the board's serial port (/dev/ttyUSB0, /dev/ttyACM0, COM3)
  --usb VID:PID[:SER]  a USB DFU or DfuSe device, e.g. 0483:df11
  --root FILE          trust root (default: the root.json named by WEBFLASH_TRUST_ROOT)
  --board ID           the bundle target's board id, when targets share a chip
  --protocol ID        the serial protocol, when neither the bundle nor the port tells it
                       (esp-serial, stm32-usart, avr-stk500v1, avr-stk500v2, avr109, mcuboot-smp)
  --baud N|auto        flashing speed (default auto: the fastest the port's USB-UART adapter and
                       the bootloader carry, stepping down when a rate fails); for bootloaders
                       with a fixed speed (AVR, MCUboot), theirs
  --no-delta           write every block; by default blocks the board already holds (same
                       digest or bytes) are skipped
  --log FILE           flash log (default ./webflash-log.jsonl; rollback state beside it in
                       webflash-rollback.json)
  --allow-downgrade R  install an older release; R is known-bad-release,
                       returned-unit-diagnostics, factory-rework or test-bench (needs --note)
  --note TEXT          a note for the flash log (ticket, batch)
  --json               one JSON event per line on stdout
  --verbose            also print the informational log lines

Exit codes: 0 verified, 1 rejected bundle, 2 usage, 3 port/file failure, 4 wrong board,
5 device lost, 6 protocol error, 130 cancelled. Ctrl-C cancels at the next safe point and
says how to recover the board.`;

/** The flash command on a given platform (tests pass a fake WebUSB). */
export function createFlashCommand(platform: HeadlessPlatform = nodePlatform): Command {
  return {
    name: 'flash',
    summary: 'flash one board on a serial port or USB device (verify, write, verify, reset)',
    help: HELP,
    run: (args, io) => runFlash(platform, args, io),
  };
}

export const flashCommand: Command = createFlashCommand();

function parseFlashArgs(args: string[]) {
  const { values, positionals } = parse(
    args,
    {
      ...JOB_OPTIONS,
      port: { type: 'string' },
      usb: { type: 'string' },
      verbose: { type: 'boolean' },
    },
    true,
  );
  const bundle = onePositional(positionals, 'bundle file or URL');
  if ((values.port === undefined) === (values.usb === undefined)) {
    throw new CliUsageError('give either --port PATH or --usb VID:PID');
  }
  return { values, bundle, baud: baudOption(values.baud), choice: protocolOption(values.protocol) };
}

/** `--baud N` or `--baud auto` (the default). */
export function baudOption(text: string | undefined): BaudSetting {
  if (text === undefined) return 'auto';
  let setting: BaudSetting | undefined;
  try {
    setting = parseBaudSetting(text);
  } catch {
    setting = undefined;
  }
  if (setting === undefined || (setting !== 'auto' && (setting < 300 || setting > 16_000_000))) {
    throw new CliUsageError('--baud must be "auto" or a line speed such as 115200');
  }
  return setting;
}

/** `--protocol ID`: a serial protocol of the registry. */
export function protocolOption(text: string | undefined): SerialChoice {
  if (text === undefined) return 'auto';
  if (!isProtocolOf('serial', text)) {
    throw new CliUsageError(`--protocol must be a serial protocol: esp-serial, stm32-usart, …`);
  }
  return text;
}

async function runFlash(platform: HeadlessPlatform, args: string[], io: CliIo): Promise<number> {
  const { values, bundle: where, baud, choice } = parseFlashArgs(args);
  const override = downgradeOverride(values['allow-downgrade'], values.note);
  const usbFilter = values.usb === undefined ? undefined : usbFilterOption(values.usb);
  const { clock } = platform;
  const printer = new JobPrinter({
    mode: outputMode(io, values.json),
    out: io.out,
    err: io.err,
    columns: io.columns,
    verbose: values.verbose,
  });
  const logger = printer.logger(() => clock.now());
  const controller = new AbortController();
  const off = cancelOnInterrupt(io, controller, (t) => printer.line(t, 'err'));
  try {
    const stores = await openStores(io, values.log, platform.now);
    let bundle: VerifiedBundle;
    try {
      ({ bundle } = await loadRelease({
        io,
        bundle: where,
        root: values.root,
        rollbackStore: stores.rollbackStore,
        override,
        signal: controller.signal,
        logger,
      }));
    } catch (err) {
      if (!(err instanceof BundleError) || !values.json) throw err;
      printer.json('result', {
        ok: false,
        exitCode: EXIT.rejected,
        outcome: 'rejected',
        code: err.code,
        reason: err.reason,
        message: err.message,
      });
      return EXIT.rejected;
    }
    const m = bundle.manifest;
    if (values.json) {
      printer.json('bundle', {
        product: m.product,
        version: m.version,
        rootVersion: bundle.root.version,
        sha256: bundle.bundleSha256,
      });
    } else {
      printer.line(
        `release ${m.product} ${m.version} verified with trust root ${bundle.root.version}`,
      );
    }
    const ctx = boardJobContext({
      bundle,
      rollbackStore: stores.rollbackStore,
      override,
      board: values.board,
      clock,
      logger,
      baud,
      noDelta: values['no-delta'],
    });
    let portLabel: string;
    let result: JobResult;
    const record = (r: JobResult): Promise<unknown> =>
      stores.audit.append(
        flashRecordOf(r, { bundle, port: portLabel, note: values.note ?? '', mode: 'technician' }),
      );
    if (values.port !== undefined) {
      const handle = await serialPortAt(values.port, {
        clock,
        logger,
        list: platform.listPorts,
        sysfs: platform.sysfs,
      });
      portLabel = handle.info.label;
      const protocol = asUsage(() => serialProtocolFor(bundle, handle.info, choice));
      printer.line(`port ${handle.info.label}: ${protocol}`);
      result = await runSerialBoardJob(ctx, {
        handle,
        protocol,
        watcher: new NodePortWatcher({ clock, logger, list: platform.listPorts }),
        baud,
        signal: controller.signal,
        on: printer.listeners(),
        record,
      });
    } else {
      const usb = await platform.usb();
      const watcher = new WebUsbWatcher({ usb, userAgent: nodeUserAgent(), clock });
      const [handle] = await watcher.list([usbFilter!]);
      if (!handle) {
        printer.line(`no USB device ${values.usb} is attached`, 'err');
        return EXIT.failure;
      }
      portLabel = handle.info.label;
      printer.line(`USB device ${handle.info.label}`);
      result = await asUsageAsync(() =>
        runUsbBoardJob(ctx, {
          handle,
          watcher,
          signal: controller.signal,
          on: printer.listeners(),
          record,
        }),
      );
    }
    const code = printer.result(result, { log: stores.logPath });
    if (!values.json && code !== EXIT.ok)
      printer.line(`exit ${code} (${outcomeName(code)})`, 'err');
    return code;
  } finally {
    off();
  }
}

/** `--usb VID:PID[:SERIAL]`. */
export function usbFilterOption(text: string): ReturnType<typeof parseUsbId> {
  try {
    return parseUsbId(text);
  } catch (err) {
    throw new CliUsageError((err as Error).message);
  }
}

/** A protocol choice the registry refused (several protocols, none for this transport) is a usage error. */
function asUsage<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof UsageError) {
      throw new CliUsageError(`${err.message}${err.hints.length ? ' Use --protocol ID.' : ''}`);
    }
    throw err;
  }
}

async function asUsageAsync<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof UsageError) throw new CliUsageError(err.message);
    throw err;
  }
}
