/**
 * `npm run sim -- --board NAME --usb-listen HOST:PORT`: a USB board's bus on TCP for libusb
 * programs run through `npm run sim:usb-run` (tools/usb-bridge). See docs/simulator.md.
 */
import { readFileSync } from 'node:fs';
import { realClock } from '../../core/clock.ts';
import { UsageError } from '../../core/errors.ts';
import { createBoard, getBoardPreset } from '../boards.ts';
import type { SimCliOptions } from './args.ts';
import { serveUsbOnTcp } from './usb-server.ts';

/**
 * Serves the board until SIGINT/SIGTERM; resolves with the exit code.
 * @throws {UsageError} when the board and the listen options do not fit (a serial board with
 *   --usb-listen, a USB board without it or with --listen/--pty).
 */
export async function serveUsbBoard(options: SimCliOptions): Promise<number> {
  const preset = getBoardPreset(options.board);
  if (preset?.transport !== 'usb')
    throw new UsageError(`--usb-listen needs a USB board; "${options.board}" is a serial board.`);
  if (!options.usbListen || options.listen || options.pty)
    throw new UsageError(
      `"${options.board}" is a USB board: serve it with --usb-listen HOST:PORT.`,
    );
  const board = createBoard(options.board, {
    clock: realClock,
    seed: options.seed,
    images: options.images.map((i) => ({
      address: i.address,
      data: new Uint8Array(readFileSync(i.file)),
    })),
    startInBootloader: true,
  });
  const bus = board.usb!;
  const server = await serveUsbOnTcp({
    bus,
    clock: realClock,
    host: options.usbListen.host,
    port: options.usbListen.port,
    log: (line) => console.log(line),
    onIdleClient: () => board.enterBootloader?.(),
  });
  console.log(`usb listening on ${server.host}:${server.port}`);
  console.log(`${board.label} (${board.chip}) on the bus; Ctrl+C to stop`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
  return 0;
}
