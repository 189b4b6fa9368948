/** Starting and stopping the simulator's TCP servers (the serial bridge, its control port, USB). */
import type { Server } from 'node:net';

/** A server that listens. */
export interface RunningTcpServer {
  host: string;
  /** The port it listens on (the one the system chose when asked for port 0). */
  port: number;
  /** Drops the clients and stops listening. */
  close(): Promise<void>;
}

/**
 * Starts `server` on `options.host`:`options.port`; resolves once it listens. Its `close` runs
 * `dropClients` (end the open connections, which would keep the server from closing) first.
 */
export function listen(
  server: Server,
  options: { host: string; port: number },
  dropClients: () => void,
): Promise<RunningTcpServer> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : options.port;
      resolve({
        host: options.host,
        port,
        close: () =>
          new Promise<void>((res) => {
            dropClients();
            server.close(() => res());
          }),
      });
    });
  });
}
