/**
 * Serves the TCP bridge on a pseudo-terminal as well, with socat (`socat PTY,link=PATH
 * TCP:host:port`): native tools open PATH like any serial port, one after another. socat stays
 * up between clients (no `wait-slave`: re-creating the pty for each client loses the bytes a
 * tool sends right after opening it, e.g. stm32flash's first 0x7F); it is restarted only if it
 * exits. A pty carries no modem lines and no BREAK (TIOCMGET/TIOCMSET fail with ENOTTY,
 * tcsendbreak() sends nothing), and one TCP connection serves every tool that opens it, so the
 * board is reset through the reset line, control.ts (`--control`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, lstatSync } from 'node:fs';

/** Where socat is expected (Debian package "socat"). */
export const SOCAT = '/usr/bin/socat';

export interface PtyOptions {
  path: string;
  tcpHost: string;
  tcpPort: number;
  log?: (line: string) => void;
}

export interface RunningPty {
  close(): void;
  /** Resolves once PATH exists. */
  ready: Promise<void>;
}

/** True when socat is installed. */
export function hasSocat(): boolean {
  return existsSync(SOCAT);
}

/** Starts socat and keeps it running until `close()`. */
export function serveOnPty(options: PtyOptions): RunningPty {
  const log = options.log ?? (() => undefined);
  let child: ChildProcess | undefined;
  let closed = false;
  const start = (): void => {
    child = spawn(
      SOCAT,
      [`PTY,raw,echo=0,link=${options.path}`, `TCP:${options.tcpHost}:${options.tcpPort},nodelay`],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child.stderr?.on('data', (d: Buffer) => log(`socat: ${d.toString().trim()}`));
    child.on('exit', () => {
      if (!closed) setTimeout(start, 50);
    });
  };
  start();
  const ready = new Promise<void>((resolve, reject) => {
    const started = Date.now();
    const check = (): void => {
      if (closed) return;
      if (existsSync(options.path) && lstatSync(options.path).isSymbolicLink()) resolve();
      else if (Date.now() - started > 5000)
        reject(new Error(`socat did not create ${options.path}`));
      else setTimeout(check, 20);
    };
    check();
  });
  return {
    ready,
    close: () => {
      closed = true;
      child?.kill('SIGTERM');
    },
  };
}
