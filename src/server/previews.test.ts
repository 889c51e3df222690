// Taking pull-request previews down: on close, only that pull request's; on the sweep, only those
// past their time to live; one environment that cannot be removed does not stop the others.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { openStore, type Store } from '../store/index.js';
import type { DeployTarget } from '../deploy/index.js';
import { Previews } from './previews.js';

async function withStore(fn: (store: Store) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'slipway-previews-'));
  const store = await openStore(undefined, dir, { env: {} });
  try {
    await fn(store);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** A target that records what it was asked to remove; `broken` environments fail. */
function fakeTargets(broken: string[] = []): { removed: string[]; targets: (name: string) => Promise<DeployTarget> } {
  const removed: string[] = [];
  const gone = new Set<string>();
  const target = {
    name: 'docker',
    remove: async (app: string, environment: string) => {
      const key = `${app}/${environment}`;
      if (broken.includes(key)) throw new Error('engine unreachable');
      if (gone.has(key)) return false;
      gone.add(key);
      removed.push(key);
      return true;
    },
  } as unknown as DeployTarget;
  return { removed, targets: async () => target };
}

async function seed(store: Store): Promise<string> {
  const project = await store.createProject({ name: 'shop' });
  const pr = (number: number) => ({ number, base: 'main', head: `f${number}`, fork: false });
  const runOf = (number: number) => store.enqueueRun({ projectId: project.id, trigger: { event: 'pull_request', branch: `f${number}`, commit: 'a'.repeat(40), sender: 'ci', pullRequest: pr(number) }, pipeline: {} });
  const seven = await runOf(7);
  const eight = await runOf(8);
  const deployed = (runId: string, app: string, environment: string, createdAtMs: number) =>
    store.recordRevision({ app, environment, number: 1, projectId: project.id, target: 'docker', image: 'i', outcome: 'healthy', trigger: { kind: 'pipeline', by: 'ci' }, runId, createdAtMs });
  await deployed(seven.id, 'web', 'pr-7', 1_000);
  await deployed(seven.id, 'api', 'pr-7', 1_000);
  await deployed(eight.id, 'web', 'pr-8', 900_000);
  return project.id;
}

test("closing a pull request takes down its previews only, once, and tells of each", async () => {
  await withStore(async (store) => {
    const projectId = await seed(store);
    const { removed, targets } = fakeTargets();
    const told: string[] = [];
    const previews = new Previews({ store, targets, log: () => undefined, onRemoved: (p) => told.push(p.environment) });
    assert.deepEqual((await previews.closePullRequest(projectId, 7, 'merged')).map((p) => p.app).sort(), ['api', 'web']);
    assert.deepEqual(removed.sort(), ['api/pr-7', 'web/pr-7']);
    assert.deepEqual(told, ['pr-7', 'pr-7']);
    assert.deepEqual(await previews.closePullRequest(projectId, 7, 'closed again'), [], 'nothing is left to take down');
    const audit = await store.listAudit({ subject: 'web/pr-7' });
    assert.equal(audit[0]?.action, 'preview.remove');
  });
});

test('the sweep takes down previews past their time to live, and one that fails does not stop the others', async () => {
  await withStore(async (store) => {
    await seed(store);
    const { removed, targets } = fakeTargets(['api/pr-7']);
    const logged: string[] = [];
    const previews = new Previews({ store, targets, log: (m) => logged.push(m), ttlMs: 100_000, now: () => 500_000 });
    assert.deepEqual((await previews.sweep()).map((p) => `${p.app}/${p.environment}`), ['web/pr-7']);
    assert.deepEqual(removed, ['web/pr-7'], 'pr-8 was deployed within its time to live');
    assert.ok(logged.some((m) => /api\/pr-7 .* could not be removed: engine unreachable/.test(m)), logged.join('\n'));
  });
});

test("a deploy block's own ttl decides when its preview goes, before the server's default", async () => {
  await withStore(async (store) => {
    const projectId = await seed(store);
    const nine = await store.enqueueRun({ projectId, trigger: { event: 'pull_request', branch: 'f9', commit: 'b'.repeat(40), sender: 'ci', pullRequest: { number: 9, base: 'main', head: 'f9', fork: false } }, pipeline: {} });
    await store.recordRevision({ app: 'web', environment: 'pr-9', number: 1, projectId, target: 'docker', image: 'i', outcome: 'healthy', trigger: { kind: 'pipeline', by: 'ci' }, runId: nine.id, createdAtMs: 900_000, previewTtlMs: 60_000 });
    const { removed, targets } = fakeTargets();
    const previews = new Previews({ store, targets, log: () => undefined, ttlMs: 10_000_000, now: () => 1_000_000 });
    assert.deepEqual((await previews.sweep()).map((p) => p.environment), ['pr-9'], 'pr-7 and pr-8 live by the server default of 10,000 s');
    assert.deepEqual(removed, ['web/pr-9']);
  });
});
