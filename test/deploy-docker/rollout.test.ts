// Rolling updates of the docker target against the real engine, under continuous HTTP load: a
// healthy rollout, two bad images rolled back automatically, and a manual rollback to revision N.
// One environment goes through all of them in order (each test builds on the state before).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildImages, containersOf, deployRequest, fixture, get, IMAGES, Load, proxyPort, testSpec, type Fixture } from './support.js';

describe('docker target: rolling updates', { timeout: 240_000 }, () => {
  let f: Fixture;
  let port = 0;
  const app = 'rollouts';

  before(async () => {
    [f] = await Promise.all([fixture(), buildImages()]);
    const first = await f.target.deploy(deployRequest(app, IMAGES.v1));
    assert.equal(first.outcome, 'healthy', first.reason);
    port = await proxyPort(f.target, app);
  });
  after(async () => {
    await f?.cleanup();
  });

  it('rolls out a healthy revision under continuous load with zero failed requests', async () => {
    const load = new Load(port, { concurrency: 4 }).start();
    const lines: string[] = [];
    const outcome = await f.target.deploy(deployRequest(app, IMAGES.v2, testSpec(), lines));
    const result = await load.stop();
    assert.equal(outcome.outcome, 'healthy', outcome.reason);
    assert.equal(outcome.revision.number, 2);
    assert.equal(result.failed, 0, result.errors.join('\n'));
    assert.ok(result.ok > 50, `only ${result.ok} requests went through`);
    assert.deepEqual(result.versions.slice(-1), ['v2']);
    assert.ok(lines.some((l) => /draining/.test(l)), lines.join('\n'));
    assert.match((await get(port)).body, /v2/);
    const containers = await containersOf(f.dataDir);
    assert.equal(containers.length, 3, JSON.stringify(containers));
    assert.ok(containers.every((c) => c.revision === '2' && c.state === 'running'));
  });

  it('rolls back an image that crashes at start, with zero failed requests and the exit code and log lines as reason', async () => {
    const load = new Load(port, { concurrency: 4 }).start();
    const outcome = await f.target.deploy(deployRequest(app, IMAGES.crash));
    const result = await load.stop();
    assert.equal(outcome.outcome, 'rolled-back');
    assert.match(outcome.reason ?? '', /exited with code 3/);
    assert.match(outcome.reason ?? '', /boom: missing DATABASE_URL/);
    assert.equal(result.failed, 0, result.errors.join('\n'));
    assert.deepEqual(result.versions, ['v2']);
    const [status] = await f.target.status(app, 'test');
    assert.equal(status?.current?.number, 2);
    assert.equal(status?.replicas.ready, 3);
    const containers = await containersOf(f.dataDir);
    assert.ok(containers.every((c) => c.revision === '2'), JSON.stringify(containers));
  });

  it('rolls back an image that answers its health check with 503, with the check output as reason', async () => {
    const load = new Load(port, { concurrency: 4 }).start();
    const outcome = await f.target.deploy(deployRequest(app, IMAGES.unhealthy));
    const result = await load.stop();
    assert.equal(outcome.outcome, 'rolled-back');
    assert.match(outcome.reason ?? '', /turned unhealthy/);
    assert.match(outcome.reason ?? '', /GET \/healthz: HTTP 503/);
    assert.equal(result.failed, 0, result.errors.join('\n'));
    assert.deepEqual(result.versions, ['v2']);
  });

  it('rolls back an image that never listens once the progress deadline passes', async () => {
    // 8 s, not less: on a loaded 2-core machine the container may take seconds to start and print
    const load = new Load(port, { concurrency: 4 }).start();
    const outcome = await f.target.deploy(deployRequest(app, IMAGES.silent, testSpec({ strategy: { progressDeadlineMs: 8000 } })));
    const result = await load.stop();
    assert.equal(outcome.outcome, 'rolled-back');
    assert.match(outcome.reason ?? '', /made no progress within 8s/);
    assert.match(outcome.reason ?? '', /never passed its health check/);
    assert.match(outcome.reason ?? '', /waiting for a database that never comes/);
    assert.equal(result.failed, 0, result.errors.join('\n'));
    const history = await f.target.history(app, 'test');
    assert.deepEqual(
      history.map((r) => [r.number, r.outcome]),
      [
        [1, 'healthy'],
        [2, 'healthy'],
        [3, 'rolled-back'],
        [4, 'rolled-back'],
        [5, 'rolled-back'],
      ],
    );
  });

  it('rolls back by hand to a named revision with the same rolling procedure and zero failed requests', async () => {
    const load = new Load(port, { concurrency: 4 }).start();
    const outcome = await f.target.rollback({ app, environment: 'test', to: 1, by: 'test', signal: new AbortController().signal, onProgress: () => undefined });
    const result = await load.stop();
    assert.equal(outcome.outcome, 'healthy', outcome.reason);
    assert.equal(outcome.revision.number, 6);
    assert.equal(outcome.revision.restoredFrom, 1);
    assert.equal(outcome.revision.image, IMAGES.v1);
    assert.equal(result.failed, 0, result.errors.join('\n'));
    assert.deepEqual(result.versions.slice(-1), ['v1']);
    const [status] = await f.target.status(app, 'test');
    assert.equal(status?.current?.number, 6);
    await assert.rejects(
      f.target.rollback({ app, environment: 'test', to: 3, by: 'test', signal: new AbortController().signal, onProgress: () => undefined }),
      /never became healthy/,
    );
  });
});
