/** File helpers for CLI commands: paths relative to the command's working directory. */
import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { CliIo } from './io.ts';

/** Reads a file as bytes, relative to `io.cwd`. */
export async function readBytes(io: CliIo, path: string): Promise<Uint8Array> {
  return new Uint8Array(await readFile(resolve(io.cwd, path)));
}

/** Writes bytes, relative to `io.cwd`. */
export async function writeBytes(
  io: CliIo,
  path: string,
  data: Uint8Array | string,
): Promise<void> {
  await writeFile(resolve(io.cwd, path), data);
}

/** A path relative to `io.cwd`, made absolute. */
export function resolveIn(io: CliIo, path: string): string {
  return resolve(io.cwd, path);
}

/** `bytes` followed by a newline, for text files. */
export function withNewline(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  out[bytes.length] = 0x0a;
  return out;
}
