import assert from 'node:assert/strict';
import { it } from 'node:test';
import { computeDora, median } from './dora.js';

it('median of odd, even and empty lists', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([]), undefined);
});

it('DORA counts only finished deploys in the window, restores per app and environment, and ignores unrestored failures', () => {
  const day = 86_400_000;
  const m = computeDora(
    [
      { app: 'a', environment: 'production', outcome: 'failed', createdAtMs: 0, finishedAtMs: 10 },
      { app: 'b', environment: 'production', outcome: 'healthy', createdAtMs: 0, finishedAtMs: 20 }, // another app: no restore of a
      { app: 'a', environment: 'production', outcome: 'healthy', createdAtMs: 0, finishedAtMs: day + 10 }, // after the window
      { app: 'a', environment: 'production', outcome: 'in-progress', createdAtMs: 5 },
      { app: 'b', environment: 'production', outcome: 'rolled-back', createdAtMs: 0, finishedAtMs: 30 }, // never restored
    ],
    0,
    day,
  );
  assert.deepEqual(m, { windowDays: 1, deployments: 1, deploymentFrequencyPerDay: 1, changeFailureRate: 2 / 3, timeToRestoreMedianMs: day });
});
