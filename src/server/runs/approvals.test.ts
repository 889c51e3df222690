import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Store } from '../../store/types.js';
import type { WaitingJob } from '../../engine/index.js';
import { serverApprovalGate } from './approvals.js';
import { RunHub } from './hub.js';

const WAITING: WaitingJob[] = [{ name: 'ship', sinceMs: 1 }];

/** The store call parking makes, recorded in order with the forge's reports. */
function parking(parkAnswer: boolean) {
  const said: string[] = [];
  const store = {
    parkRun: async () => {
      said.push('store: parked?');
      return parkAnswer;
    },
  } as unknown as Store;
  const gate = serverApprovalGate({
    store,
    hub: new RunHub(),
    runId: 'r1',
    flush: async () => void said.push('flush'),
    report: async (state, description) => void said.push(`forge: ${state} ${description}`),
  });
  return { gate, said };
}

test('a run that parks tells the forge it waits before the store hands it back, so a replica resuming it reports after that', async () => {
  const { gate, said } = parking(true);
  assert.equal(await gate.park(WAITING), true);
  assert.deepEqual(said, ['flush', 'forge: pending waiting for approval: ship', 'store: parked?']);
});

test('a park refused because a decision came says "running" again, for the engine goes on', async () => {
  const { gate, said } = parking(false);
  assert.equal(await gate.park(WAITING), false);
  assert.deepEqual(said, ['flush', 'forge: pending waiting for approval: ship', 'store: parked?', 'forge: pending running']);
});
