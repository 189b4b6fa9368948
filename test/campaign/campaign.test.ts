/**
 * A fixed-seed slice of the fault campaign (campaign/, `npm run campaign`): a few updates per
 * protocol over a noisy link, with a yanked plug and with a confused board, on the virtual
 * clock through the job runner. No update may report success with wrong bytes in flash, hang,
 * or end with an error that is not webflash's own; every assertion names the seed and the
 * command that replays it.
 */
import { describe, expect, it } from 'vitest';
import { runCase, type CaseKind } from '../../campaign/cases.ts';
import { watchEscapes } from '../../campaign/guard.ts';
import { SETUPS } from '../../campaign/protocols.ts';
import { failureOf } from '../../campaign/tally.ts';

const SLICE: Record<CaseKind, readonly number[]> = {
  noisy: [1, 2, 3, 4],
  yank: [5, 6],
  fuzz: [7, 8, 9, 10],
};

watchEscapes();

describe('fault campaign, fixed seeds', () => {
  for (const setup of SETUPS) {
    it(`${setup.id}: no silently wrong image, no hang, no uncaught error`, async () => {
      for (const [kind, seeds] of Object.entries(SLICE) as [CaseKind, readonly number[]][]) {
        for (const seed of seeds) {
          const outcome = await runCase(setup, kind, seed);
          const line = failureOf(setup.id, seed, outcome);
          const why = line
            ? `${line.verdict} ${line.code ?? ''} ${line.message ?? ''}; replay: ${line.replay}`
            : '';
          expect(['silent', 'hang', 'uncaught'], why).not.toContain(line?.verdict);
          if (outcome.kind === 'yank') expect(outcome.recovered, why).toBe(true);
        }
      }
    });
  }
});
