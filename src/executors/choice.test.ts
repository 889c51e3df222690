import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExecutorChoice } from './choice.js';
import { ExecutorError, type Executor, type Sandbox, type SandboxSpec } from './types.js';

const spec = (runsOn?: 'docker' | 'kubernetes'): SandboxSpec => ({ runId: 'r1', jobName: 'test', attempt: 1, image: 'busybox:1.36', env: {}, services: [], ...(runsOn ? { runsOn } : {}) });

function fake(name: string, made: string[]): Executor {
  return {
    name,
    createSandbox: async () => {
      made.push(name);
      return {} as Sandbox;
    },
    reapOrphans: async () => ({ containers: name === 'kubernetes' ? 2 : 1, networks: 0, volumes: 0 }),
  };
}

test('a job goes to the executor its runs-on names, others to the default; each is made once, on first use', async () => {
  const made: string[] = [];
  let builds = 0;
  const choice = new ExecutorChoice('docker', {
    docker: async () => fake('docker', made),
    kubernetes: async () => {
      builds++;
      return fake('kubernetes', made);
    },
  });
  assert.deepEqual(await choice.reapOrphans(), { containers: 1, networks: 0, volumes: 0 }, 'the default executor is made to reap what a killed process left');
  assert.equal(builds, 0, 'the kubernetes one is not made for that');
  const signal = new AbortController().signal;
  await choice.createSandbox(spec(), { info: () => undefined }, signal);
  await choice.createSandbox(spec('kubernetes'), { info: () => undefined }, signal);
  await choice.createSandbox(spec('kubernetes'), { info: () => undefined }, signal);
  await choice.createSandbox(spec('docker'), { info: () => undefined }, signal);
  assert.deepEqual(made, ['docker', 'kubernetes', 'kubernetes', 'docker']);
  assert.equal(builds, 1);
  assert.deepEqual(await choice.reapOrphans(), { containers: 3, networks: 0, volumes: 0 }, 'then both');
});

test('a job asking for an executor that cannot start fails naming runs-on and why; the next job tries again', async () => {
  let attempts = 0;
  const choice = new ExecutorChoice('docker', {
    docker: async () => fake('docker', []),
    kubernetes: async () => {
      attempts++;
      throw new Error('no kubeconfig: set KUBECONFIG');
    },
  });
  const signal = new AbortController().signal;
  await assert.rejects(choice.createSandbox(spec('kubernetes'), { info: () => undefined }, signal), (err: unknown) => {
    assert.ok(err instanceof ExecutorError);
    assert.match(err.message, /job 'test' runs on kubernetes \(runs-on\), but the kubernetes executor cannot start: no kubeconfig: set KUBECONFIG/);
    return true;
  });
  await assert.rejects(choice.createSandbox(spec('kubernetes'), { info: () => undefined }, signal));
  assert.equal(attempts, 2);
  const none = new ExecutorChoice('docker', { docker: async () => fake('docker', []) });
  await assert.rejects(none.createSandbox(spec('kubernetes'), { info: () => undefined }, signal), /runs on kubernetes \(runs-on\), but no kubernetes executor here/);
});

test('owners found gone are remembered: every executor reaps theirs, one made later included', async () => {
  const seen: Array<[string, string[]]> = [];
  const recording = (name: string): Executor => ({
    name,
    createSandbox: async () => ({}) as Sandbox,
    reapOrphans: async (gone) => {
      seen.push([name, [...(gone ?? [])]]);
      return { containers: 0, networks: 0, volumes: 0 };
    },
  });
  let madeWith: string[] | undefined;
  const choice = new ExecutorChoice('docker', {
    docker: async () => recording('docker'),
    kubernetes: async (gone) => {
      madeWith = [...gone];
      return recording('kubernetes');
    },
  });
  await choice.reapOrphans(new Set(['other-host/7/1']));
  assert.deepEqual(seen, [['docker', ['other-host/7/1']]]);
  await choice.createSandbox(spec('kubernetes'), { info: () => undefined }, new AbortController().signal);
  assert.deepEqual(madeWith, ['other-host/7/1'], 'the kubernetes executor, made after, learns of them as it is made');
  await choice.reapOrphans(new Set(['third/8/1']));
  assert.deepEqual(seen.slice(1), [
    ['docker', ['other-host/7/1', 'third/8/1']],
    ['kubernetes', ['other-host/7/1', 'third/8/1']],
  ]);
});
