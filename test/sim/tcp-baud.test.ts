/**
 * CHANGE_BAUDRATE over the TCP bridge of `npm run sim`: a TCP stream carries no baud rate, so
 * the bridge paces bytes at the simulated chip's UART rate (LINK_BYTE_STREAM). The new rate
 * applies after the reply, as on a UART. Timing is measured on the simulator's own virtual
 * clock (when each chunk is handed to the socket), never on the wall clock.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/clock.ts';
import { SlipDecoder, slipEncode } from '../../src/framing/slip.ts';
import { EspCommand, SYNC_PAYLOAD } from '../../src/protocols/esp/constants.ts';
import { decodeResponse, encodeCommand, words } from '../../src/protocols/esp/packet.ts';
import { createBoard } from '../../src/sim/boards.ts';
import type { EspSimBoard } from '../../src/sim/esp/boards.ts';
import { serveOnTcp, type RunningBridge } from '../../src/sim/node/bridge.ts';
import { LINK_BYTE_STREAM } from '../../src/sim/serial-wire.ts';
import type { HostSink, SimOpenOptions } from '../../src/sim/sim-link.ts';

/** Milliseconds per 10-bit character (8N1) at `baud`. */
const charMs = (baud: number): number => (10 / baud) * 1000;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A raw TCP client speaking the ESP serial protocol, with the virtual time of each chunk. */
class TcpClient {
  private readonly decoder = new SlipDecoder();
  private readonly frames: Uint8Array[] = [];
  private wake: (() => void) | undefined;

  constructor(
    private readonly socket: Socket,
    /** Chunks handed to the socket by the simulated wire, with the board's time. */
    readonly chunks: { at: number; length: number }[],
  ) {
    socket.on('data', (d: Buffer) => {
      this.frames.push(...this.decoder.push(new Uint8Array(d)));
      this.wake?.();
    });
  }

  send(op: number, data: Uint8Array): void {
    this.socket.write(slipEncode(encodeCommand(op, data)));
  }

  async reply(op: number): Promise<ReturnType<typeof decodeResponse>> {
    const deadline = Date.now() + 10_000;
    while (this.frames.length === 0) {
      if (Date.now() > deadline) throw new Error(`no reply to 0x${op.toString(16)}`);
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, 50);
      });
    }
    return decodeResponse(this.frames.shift()!, { statusBytes: 4, expectOp: op });
  }

  /** SYNC and its eight replies; returns the chunks (virtual time, size) they came in. */
  async sync(): Promise<{ at: number; length: number }[]> {
    const from = this.chunks.length;
    this.send(EspCommand.SYNC, SYNC_PAYLOAD);
    for (let i = 0; i < 8; i++) await this.reply(EspCommand.SYNC);
    return this.chunks.slice(from);
  }
}

async function serve(): Promise<{ board: EspSimBoard; client: TcpClient; clock: VirtualClock }> {
  const clock = new VirtualClock({ yieldToHost: setImmediate });
  const board = createBoard('esp32', {
    clock,
    link: LINK_BYTE_STREAM,
    startInBootloader: true,
  }) as EspSimBoard;
  const port = board.wire!.port!;
  const chunks: { at: number; length: number }[] = [];
  // Note when the simulated wire hands each chunk to the TCP socket, on the board's clock.
  const open = port.connect.bind(port);
  port.connect = (options: SimOpenOptions, sink: HostSink) =>
    open(options, {
      ...sink,
      data: (chunk) => {
        chunks.push({ at: clock.now(), length: chunk.length });
        sink.data(chunk);
      },
    });
  const bridge: RunningBridge = await serveOnTcp({
    board,
    host: '127.0.0.1',
    port: 0,
    baud: 115200,
  });
  cleanups.push(() => bridge.close());
  const socket = connect(bridge.port, '127.0.0.1');
  cleanups.push(() => void socket.destroy());
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const client = new TcpClient(socket, chunks);
  return { board, client, clock };
}

/** The pace of a reply burst: time between its first and last chunk over the bytes in between. */
function pace(chunks: { at: number; length: number }[]): number {
  expect(chunks.length).toBeGreaterThan(1);
  const bytes = chunks.slice(1).reduce((n, c) => n + c.length, 0);
  return (chunks.at(-1)!.at - chunks[0]!.at) / bytes;
}

describe('CHANGE_BAUDRATE over the TCP bridge', () => {
  it('bytes go at the new rate after the reply, in both directions', async () => {
    const { board, client } = await serve();
    const wire = board.wire!;
    // The ROM's eight SYNC replies (112 bytes) come in two 64-byte USB chunks at 115200 baud.
    const before = await client.sync();
    expect(pace(before)).toBeCloseTo(charMs(115200), 6);
    expect(wire.characterTimeMs()).toBeCloseTo(charMs(115200), 9);

    client.send(EspCommand.CHANGE_BAUDRATE, words(921600, 0));
    const changed = client.chunks.length;
    await client.reply(EspCommand.CHANGE_BAUDRATE);
    // The reply itself still went at the old rate; then the chip's UART runs at 921600…
    expect(client.chunks.length).toBe(changed + 1);
    expect(wire.characterTimeToHostMs()).toBeCloseTo(charMs(921600), 9);
    // …and so does the bridge's host side: a TCP stream has no rate of its own.
    expect(wire.characterTimeMs()).toBeCloseTo(charMs(921600), 9);

    const after = await client.sync();
    expect(pace(after)).toBeCloseTo(charMs(921600), 6);
    expect(pace(before) / pace(after)).toBeCloseTo(8, 6);
  });
});
