// Self-healing and crash safety of the docker target: a killed replica is replaced; an agent
// restarted gracefully adopts its replicas; an agent SIGKILLed mid-rollout comes back converged to
// one revision, with no orphaned containers.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { buildImages, containersOf, deployRequest, eventually, fixture, get, IMAGES, Load, proxyPort, testSpec, type Fixture } from './support.js';

const run = promisify(execFile);

describe('docker target: self-healing and recovery', { timeout: 240_000 }, () => {
  let f: Fixture;
  before(async () => {
    [f] = await Promise.all([fixture(), buildImages()]);
  });
  after(async () => {
    await f?.cleanup();
  });

  it('replaces a replica that is killed, records the event, and fails no request', async () => {
    const app = 'healing';
    const first = await f.target.deploy(deployRequest(app, IMAGES.v1, testSpec({ replicas: 2 })));
    assert.equal(first.outcome, 'healthy', first.reason);
    const port = await proxyPort(f.target, app);
    const load = new Load(port, { concurrency: 4 }).start();
    const [victim] = await containersOf(f.dataDir);
    assert.ok(victim);
    await run('docker', ['kill', victim.id]);
    await eventually('a replacement replica serving', async () => {
      const [status] = await f.target.dockerStatus(app, 'test');
      const healthy = status?.replicaList.filter((r) => r.state === 'healthy') ?? [];
      return healthy.length === 2 && healthy.every((r) => !r.id.startsWith(victim.id)) && status?.replicas.ready === 2;
    });
    const result = await load.stop();
    assert.equal(result.failed, 0, result.errors.join('\n'));
    const events = await readFile(path.join(f.dataDir, 'deploy', app, 'test', 'events.jsonl'), 'utf8');
    // the container's exit event and the next health check race to notice first; either records it
    assert.match(events, new RegExp(`replica ${victim.name} \\(revision 1\\) (exited with code 137|turned unhealthy \\(.*\\)); replacing it`));
    await eventually('the killed container removed', async () => !(await containersOf(f.dataDir)).some((c) => c.id === victim.id));
    const [status] = await f.target.status(app, 'test');
    assert.equal(status?.current?.number, 1, 'self-healing keeps the current revision');
  });

  it('adopts its running replicas after a graceful restart, on the same port, without redeploying', async () => {
    const app = 'healing';
    const port = await proxyPort(f.target, app);
    const before = (await containersOf(f.dataDir)).map((c) => c.id).sort();
    const pid = (await f.target.client.ping())?.pid;
    assert.ok(pid);
    process.kill(pid, 'SIGTERM');
    await eventually('the agent gone', async () => (await f.target.client.ping()) === undefined);
    const [status] = await f.target.status(app, 'test'); // starts a new agent
    assert.equal(status?.endpoint, `http://127.0.0.1:${port}`);
    await eventually('both replicas back in rotation', async () => (await f.target.status(app, 'test'))[0]?.replicas.ready === 2);
    assert.deepEqual((await containersOf(f.dataDir)).map((c) => c.id).sort(), before);
    assert.match((await get(port)).body, /v1/);
    assert.equal((await f.target.history(app, 'test')).length, 1, 'no new revision');
  });

  it('answers its first status after a restart with the adopted replicas healthy, not down, though their health check takes a second', async () => {
    const app = 'adopted';
    // A check that takes a second: an agent answering before its adopted replicas were checked
    // would report them starting, the environment `down 0/2`.
    const spec = testSpec({ replicas: 2, health: { cmd: 'sleep 1', timeoutMs: 5000 } });
    const first = await f.target.deploy(deployRequest(app, IMAGES.v1, spec));
    assert.equal(first.outcome, 'healthy', first.reason);
    const before = (await containersOf(f.dataDir)).map((c) => c.id);
    const pid = (await f.target.client.ping())?.pid;
    assert.ok(pid);
    process.kill(pid, 'SIGTERM');
    await eventually('the agent gone', async () => (await f.target.client.ping()) === undefined);
    const [status] = await f.target.dockerStatus(app, 'test'); // starts a new agent, which adopts them
    assert.deepEqual(status?.replicas, { desired: 2, ready: 2 }, JSON.stringify(status?.replicaList));
    assert.deepEqual(status?.replicaList.map((r) => r.state), ['healthy', 'healthy']);
    assert.deepEqual((await containersOf(f.dataDir)).map((c) => c.id).sort(), before.sort(), 'the same replicas, adopted');
    assert.equal(await f.target.remove(app, 'test'), true);
  });

  it('converges to one revision, with no orphaned containers, after the agent is SIGKILLed mid-rollout', async () => {
    const app = 'crashsafe';
    const spec = testSpec({ replicas: 3 });
    const first = await f.target.deploy(deployRequest(app, IMAGES.v1, spec));
    assert.equal(first.outcome, 'healthy', first.reason);
    const port = await proxyPort(f.target, app);
    const load = new Load(port, { concurrency: 4 }).start();
    const pid = (await f.target.client.ping())?.pid;
    assert.ok(pid);

    const lines: string[] = [];
    let killedAt = 0;
    const request = deployRequest(app, IMAGES.v2, spec, lines);
    request.onProgress = (line) => {
      lines.push(line);
      // Mid-rollout: one new replica serves, old ones are draining, more are to come.
      if (killedAt === 0 && /is healthy and in the proxy \(1\/3\)/.test(line)) {
        killedAt = Date.now();
        process.kill(pid, 'SIGKILL');
      }
    };
    const outcome = await f.target.deploy(request); // notices the loss, restarts the agent, waits
    const restartedMs = Date.now() - killedAt;
    assert.ok(killedAt > 0, lines.join('\n'));
    assert.equal(outcome.outcome, 'rolled-back');
    assert.match(outcome.reason ?? '', /interrupted: the deploy agent stopped during the rollout; restored revision 1/);

    await eventually('one revision, three replicas', async () => {
      const containers = await containersOf(f.dataDir);
      const mine = containers.filter((c) => c.name.startsWith(`slipway-${app}-`));
      return mine.length === 3 && mine.every((c) => c.revision === '1' && c.state === 'running') && (await f.target.status(app, 'test'))[0]?.replicas.ready === 3;
    });
    const result = await load.stop();
    // Requests fail only while no proxy listened: between the kill and the restart.
    const after = new Load(port, { concurrency: 4 }).start();
    await eventually('requests after recovery', async () => after.result.ok > 40);
    const clean = await after.stop();
    assert.equal(clean.failed, 0, clean.errors.join('\n'));
    assert.deepEqual(clean.versions, ['v1']);
    const [status] = await f.target.status(app, 'test');
    assert.equal(status?.current?.number, 1);
    const history = await f.target.history(app, 'test');
    assert.deepEqual(history.map((r) => [r.number, r.outcome]), [[1, 'healthy'], [2, 'rolled-back']]);
    process.stdout.write(`# SIGKILL mid-rollout: ${result.failed} of ${result.ok + result.failed} requests failed during a ${restartedMs} ms outage+recovery\n`);
  });
});
