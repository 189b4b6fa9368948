/**
 * Serves a simulated board's serial port on TCP: the raw byte stream, one client after
 * another, with the board put back into its bootloader for each client (TCP carries no
 * DTR/RTS; within a connection the reset line is control.ts). Bytes are paced at the chip's
 * UART rate (`LINK_BYTE_STREAM`), so a baud change by the firmware shows. Flash contents persist
 * for the life of the process.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { SimBoard } from '../board.ts';
import type { HostConnection } from '../sim-link.ts';
import { listen, type RunningTcpServer } from './listen.ts';

export interface BridgeOptions {
  board: SimBoard;
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** The host-side line speed (for timing of 'uart' links). */
  baud: number;
  log?: (line: string) => void;
}

export type RunningBridge = RunningTcpServer;

/** Starts the TCP bridge; resolves once it listens. */
export function serveOnTcp(options: BridgeOptions): Promise<RunningBridge> {
  const log = options.log ?? (() => undefined);
  let active: { socket: Socket; conn: HostConnection } | undefined;
  const server: Server = createServer((socket) => {
    socket.setNoDelay(true);
    if (active) {
      log(`refused a second client from ${socket.remoteAddress}; one client at a time`);
      socket.end();
      return;
    }
    const wirePort = options.board.wire?.port;
    if (!wirePort) {
      log('the board is unplugged; closing the client');
      socket.end();
      return;
    }
    options.board.enterBootloader?.();
    let conn: HostConnection;
    try {
      conn = wirePort.connect(
        { baudRate: options.baud },
        {
          data: (chunk) => socket.write(chunk),
          lost: (error) => {
            log(`device lost: ${error.message}`);
            socket.destroy();
          },
        },
      );
    } catch (err) {
      log(`cannot open the simulated port: ${(err as Error).message}`);
      socket.end();
      return;
    }
    active = { socket, conn };
    log(`client connected from ${socket.remoteAddress}:${socket.remotePort}`);
    socket.on('data', (data: Buffer) => {
      void conn
        .write(new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice())
        .catch(() => undefined);
    });
    const done = (): void => {
      if (active?.socket !== socket) return;
      conn.close();
      active = undefined;
      log('client disconnected');
    };
    socket.on('close', done);
    socket.on('error', done);
  });
  return listen(server, options, () => {
    active?.socket.destroy();
  });
}
