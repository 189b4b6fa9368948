/**
 * The reset line of `npm run sim` (`--control HOST:PORT`): a TCP side channel, one text command
 * per line, for what a pty or a TCP stream cannot carry. A Linux pseudo-terminal has no modem
 * lines: TIOCMGET/TIOCMSET on it fail with ENOTTY (stm32flash `-i dtr,…` prints "Error!"), and
 * tcsendbreak() succeeds without sending anything (the pty driver has no break_ctl), so neither
 * DTR/RTS nor a BREAK reaches socat. The simulated board's strap is held for its bootloader
 * (BOOT0 high on an STM32, IO0 low on an ESP), so pressing its reset button brings the
 * bootloader back, e.g. after stm32flash `-g 0x0` started the application:
 *
 *     echo reset > /dev/tcp/127.0.0.1/PORT        # bash
 *
 * Commands (case-insensitive): `reset` (alias `bootloader`): reset with the boot strap held;
 * the chip restarts in its bootloader and waits for the host (an STM32 for its autobaud 0x7F).
 * `help`. Each command is answered with a line: `ok …` or `error: …`.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { SimBoard } from '../board.ts';
import { listen, type RunningTcpServer } from './listen.ts';

export interface ControlOptions {
  board: SimBoard;
  host: string;
  /** 0 picks a free port. */
  port: number;
  log?: (line: string) => void;
}

export type RunningControl = RunningTcpServer;

const HELP = 'commands: reset (alias bootloader): restart the board in its bootloader; help';

/** Runs one control command; returns the reply line (without the newline). */
export function controlCommand(board: SimBoard, line: string): string {
  const command = line.trim().toLowerCase();
  switch (command) {
    case 'reset':
    case 'bootloader':
      if (!board.enterBootloader) return `error: ${board.name} has no reset line`;
      board.enterBootloader();
      return `ok ${board.name} restarted in its bootloader`;
    case 'help':
      return `ok ${HELP}`;
    default:
      return `error: unknown command "${command}" (${HELP})`;
  }
}

/** Starts the control channel; resolves once it listens. */
export function serveControl(options: ControlOptions): Promise<RunningControl> {
  const log = options.log ?? (() => undefined);
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    let pending = '';
    socket.setEncoding('utf8');
    const run = (line: string): void => {
      if (line.trim() === '') return;
      const reply = controlCommand(options.board, line);
      log(`control: ${line.trim()} → ${reply}`);
      if (socket.writable) socket.write(`${reply}\n`);
    };
    socket.on('data', (text: string) => {
      pending += text;
      for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
        run(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
      }
    });
    // A last command without a newline, from a client that closed its side.
    socket.on('end', () => {
      run(pending);
      pending = '';
      socket.end();
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => sockets.delete(socket));
  });
  return listen(server, options, () => {
    for (const s of sockets) s.destroy();
  });
}
