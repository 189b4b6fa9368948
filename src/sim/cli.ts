/**
 * `npm run sim`: a simulated board on a TCP port or a pseudo-terminal, for native tools
 * (esptool, stm32flash…). See docs/simulator.md.
 */
import { readFileSync } from 'node:fs';
import { realClock } from '../core/clock.ts';
import { UsageError } from '../core/errors.ts';
import { createBoard, getBoardPreset, listBoards } from './boards.ts';
import { serveOnTcp } from './node/bridge.ts';
import { serveControl } from './node/control.ts';
import { preciseClock } from './node/precise-clock.ts';
import { parseSimArgs, SIM_USAGE } from './node/args.ts';
import { hasSocat, serveOnPty, SOCAT } from './node/pty.ts';
import { LINK_BYTE_STREAM } from './serial-wire.ts';
import { serveUsbBoard } from './node/usb-cli.ts';

async function main(argv: readonly string[]): Promise<number> {
  const options = parseSimArgs(argv);
  if (options.help) {
    process.stdout.write(SIM_USAGE);
    return 0;
  }
  if (options.list) {
    for (const p of listBoards()) process.stdout.write(`${p.name.padEnd(14)} ${p.description}\n`);
    return 0;
  }
  if (options.usbListen || getBoardPreset(options.board)?.transport === 'usb')
    return serveUsbBoard(options);
  const images = options.images.map((i) => ({
    address: i.address,
    data: new Uint8Array(readFileSync(i.file)),
  }));
  // TCP and ptys carry no baud rate: bytes take the device UART's rate (which CHANGE_BAUDRATE
  // and autobaud change) and are never garbled; --baud is the host's rate at connect.
  const link = LINK_BYTE_STREAM;
  const board = createBoard(options.board, {
    clock: options.preciseTimers ? preciseClock() : realClock,
    seed: options.seed,
    link,
    images,
    startInBootloader: true,
  });
  if (Object.keys(options.faults).length > 0) {
    board.wire?.setFaults({ ...options.faults, seed: options.seed });
    console.log(`fault injection on (seed ${options.seed})`);
  }
  const log = (line: string): void => console.log(line);
  const tcp = await serveOnTcp({
    board,
    host: options.listen?.host ?? '127.0.0.1',
    port: options.listen?.port ?? 0,
    baud: options.baud,
    log,
  });
  if (options.listen) console.log(`listening on ${tcp.host}:${tcp.port}`);
  let pty: { close(): void } | undefined;
  if (options.pty) {
    if (!hasSocat()) {
      console.error(`--pty needs socat at ${SOCAT}: sudo apt-get install -y socat`);
      await tcp.close();
      return 1;
    }
    const running = serveOnPty({ path: options.pty, tcpHost: tcp.host, tcpPort: tcp.port, log });
    pty = running;
    await running.ready;
    console.log(`pty at ${options.pty}`);
  }
  const control = options.control
    ? await serveControl({ board, ...options.control, log })
    : undefined;
  if (control) console.log(`reset line (control) on ${control.host}:${control.port}`);
  console.log(`${board.label} (${board.chip}) in its bootloader; Ctrl+C to stop`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  pty?.close();
  await control?.close();
  await tcp.close();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof UsageError ? `${err.message}\n\n${SIM_USAGE}` : err);
    process.exit(err instanceof UsageError ? 2 : 1);
  },
);
