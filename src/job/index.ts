/** The flash engine's public surface. */
export { runFlashJob } from './runner.ts';
export type * from './types.ts';
