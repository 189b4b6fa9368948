/** The flash engine's public surface. */
export { FlashJob } from './engine.ts';
export { runFlashJob, type JobListeners, type RunJobOptions } from './runner.ts';
export { fromVerifiedBundle, type BundleSourceOptions } from './bundle-source.ts';
export { Emitter, type EventSource } from './emitter.ts';
export { RateMeter, type RateMeterOptions, type RateReading } from './rate.ts';
export { ProgressTracker } from './progress.ts';
export { recoveryAdvice, type RecoveryContext } from './recovery.ts';
export { backoffDelay, isRetryable, type BackoffOptions } from './retry.ts';
export {
  admitSource,
  planRegions,
  type BoardFacts,
  type FlashPlan,
  type FlashSource,
  type SourceRegion,
  type UnverifiedSource,
  type VerifiedSource,
} from './source.ts';
export { defaultTimeouts, withDeadline, type DeadlineOptions } from './watchdog.ts';
export type * from './types.ts';
