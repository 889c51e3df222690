// The replica state machine, table-driven: every state change goes through `transition`.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { transition, type ReplicaEvent, type ReplicaState } from './replicas.js';

const pass: ReplicaEvent = { type: 'probe', result: { ok: true, answered: true, output: '200' }, inStartPeriod: false };
const answered503: ReplicaEvent = { type: 'probe', result: { ok: false, answered: true, output: '503' }, inStartPeriod: false };
const refused: ReplicaEvent = { type: 'probe', result: { ok: false, output: 'refused' }, inStartPeriod: false };
const inStart503: ReplicaEvent = { type: 'probe', result: { ok: false, answered: true, output: '503' }, inStartPeriod: true };
const limits = { healthy: 2, unhealthy: 3 };

const cases: Array<[string, ReplicaState, [number, number], ReplicaEvent, ReplicaState, [number, number]]> = [
  ['one pass is not enough to be healthy', 'starting', [0, 0], pass, 'starting', [1, 0]],
  ['the second pass in a row makes it healthy', 'starting', [1, 0], pass, 'healthy', [2, 0]],
  ['a failure resets the passes', 'starting', [1, 0], refused, 'starting', [0, 0]],
  ['not listening yet does not count while starting', 'starting', [0, 2], refused, 'starting', [0, 2]],
  ['answering unhealthy counts while starting', 'starting', [0, 2], answered503, 'unhealthy', [0, 3]],
  ['failures in the start period do not count', 'starting', [0, 2], inStart503, 'starting', [0, 2]],
  ['a healthy replica tolerates failures below the threshold', 'healthy', [5, 1], refused, 'healthy', [0, 2]],
  ['the threshold makes a healthy replica unhealthy', 'healthy', [0, 2], refused, 'unhealthy', [0, 3]],
  ['an unhealthy replica that passes again recovers', 'unhealthy', [1, 0], pass, 'healthy', [2, 0]],
  ['probes do not move a draining replica', 'draining', [0, 0], answered503, 'draining', [0, 0]],
  ['exiting unasked is a crash', 'healthy', [2, 0], { type: 'exited', exitCode: 137 }, 'failed', [2, 0]],
  ['exiting while draining is what was asked', 'draining', [2, 0], { type: 'exited', exitCode: 0 }, 'draining', [2, 0]],
  ['retiring takes any live replica to draining', 'starting', [0, 0], { type: 'retire' }, 'draining', [0, 0]],
  ['a crashed replica is retired too', 'failed', [0, 0], { type: 'retire' }, 'draining', [0, 0]],
  ['removal ends every state', 'draining', [0, 0], { type: 'removed' }, 'stopped', [0, 0]],
  ['a stopped replica stays stopped', 'stopped', [0, 0], { type: 'exited', exitCode: 0 }, 'stopped', [0, 0]],
];

describe('replica transition', () => {
  for (const [name, state, [successes, failures], event, expected, [s2, f2]] of cases) {
    it(name, () => {
      const next = transition(state, { successes, failures }, event, limits);
      assert.equal(next.state, expected);
      assert.deepEqual(next.counters, { successes: s2, failures: f2 });
    });
  }
});
