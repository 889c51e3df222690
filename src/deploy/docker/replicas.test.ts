// The replica state machine, table-driven: every state change goes through `transition`; and the
// first health check of a replica a restarted agent adopts, which the agent waits for.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type Docker from 'dockerode';
import { Replica, transition, type ReplicaEvent, type ReplicaState } from './replicas.js';

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

/** An adopted replica whose container runs (its wait() never ends); `exec`: what an exec probe's engine call does. */
function adoptedReplica(hostPort: number, health: { path: string } | { cmd: string }, timeoutMs: number, exec?: () => Promise<never>): { replica: Replica; docker: Docker } {
  const container = { id: 'c0ffee', wait: () => new Promise(() => undefined), exec } as unknown as Docker.Container;
  const docker = { getContainer: () => container } as unknown as Docker;
  const checks = { intervalMs: 60_000, timeoutMs, healthy: 2, unhealthy: 3, startPeriodMs: 0, ...health };
  return { replica: new Replica(container, 'web-1', 1, hostPort, 8080, checks, true), docker };
}

describe('an adopted replica', () => {
  it('is healthy as soon as its first check, waited for, passes: no interval, one pass', async () => {
    const server = http.createServer((_req, res) => res.end('ok'));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { replica, docker } = adoptedReplica((server.address() as AddressInfo).port, { path: '/healthz' }, 2000);
    try {
      replica.monitor(docker);
      await replica.firstChecked();
      assert.equal(replica.state, 'healthy');
      assert.match(replica.lastProbe?.output ?? '', /HTTP 200/);
    } finally {
      replica.apply({ type: 'retire' }); // ends its probe loop
      server.close();
    }
  });

  it('whose first check hangs in the engine is waited for about its health timeout, not more, and stays starting', async () => {
    const { replica, docker } = adoptedReplica(1, { cmd: 'true' }, 200, () => new Promise<never>(() => undefined));
    try {
      const started = Date.now();
      replica.monitor(docker);
      await replica.firstChecked();
      const waitedMs = Date.now() - started;
      assert.ok(waitedMs >= 200 && waitedMs < 5000, `waited ${waitedMs} ms`);
      assert.equal(replica.state, 'starting');
      assert.equal(replica.lastProbe, undefined);
    } finally {
      replica.apply({ type: 'retire' });
    }
  });
});
