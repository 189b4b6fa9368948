/**
 * The CPU-profile arithmetic of the provisioning bench (benchmarks/cpu-profile.ts) on a small
 * profile built by hand: sample i's time is timeDeltas[i + 1], idle time is not busy, and the
 * breakdowns add self time per function and per script.
 */
import { describe, expect, it } from 'vitest';
import {
  busyMs,
  selfTimeBreakdown,
  selfTimeByScript,
  type CpuProfile,
} from '../../benchmarks/cpu-profile.ts';

const frame = (functionName: string, url = '', lineNumber = 0) => ({
  functionName,
  url,
  lineNumber,
});

/** Nodes: 1 idle, 2 hash (core), 3 render (react), 4 GC, 5 another hash frame in core. */
const profile: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame('(idle)') },
    { id: 2, callFrame: frame('process', 'http://h/assets/core-eKN-aUVK.js', 9) },
    { id: 3, callFrame: frame('commit', 'http://h/assets/main-AbCdEf12.js?v=1', 0) },
    { id: 4, callFrame: frame('(garbage collector)') },
    { id: 5, callFrame: frame('', 'http://h/assets/core-eKN-aUVK.js', 3) },
  ],
  samples: [1, 2, 2, 3, 4, 5, 1, 2],
  // µs; the first delta is the time before the first sample and counts for nothing.
  timeDeltas: [999, 1000, 2000, 1500, 500, 250, 4000, 3000],
};

describe('CPU profile arithmetic', () => {
  it('counts every sample but the idle ones, each with the delta that follows it', () => {
    // Samples 0..6 own deltas 1..7; samples 0 and 6 are idle; the last sample's time is unknown.
    expect(busyMs(profile)).toBe((2000 + 1500 + 500 + 250 + 4000) / 1000);
  });

  it('adds self time per function and script, largest first, without idle', () => {
    expect(selfTimeBreakdown(profile)).toEqual([
      { what: '(anonymous) (core.js:4)', ms: 4 },
      { what: 'process (core.js:10)', ms: 3.5 },
      { what: 'commit (main.js:1)', ms: 0.5 },
      { what: '(garbage collector)', ms: 0.25 },
    ]);
  });

  it('adds self time per script, the build hash and the query left out', () => {
    expect(selfTimeByScript(profile)).toEqual([
      { what: 'core.js', ms: 7.5 },
      { what: 'main.js', ms: 0.5 },
      { what: '(garbage collector)', ms: 0.25 },
    ]);
  });
});
