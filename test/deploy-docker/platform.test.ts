// The docker target as a small platform: apps of an environment find each other by name over the
// environment's network, and the data plane keeps serving when its controller is killed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { buildCaller, buildImages, containersOf, deployRequest, eventually, fixture, get, IMAGES, Load, proxyPort, testSpec, type Fixture } from './support.js';

const run = promisify(execFile);
let f: Fixture;
let caller: string;

before(async () => {
  [f, , caller] = await Promise.all([fixture(), buildImages(), buildCaller('api:8080')]);
});
after(async () => {
  await f?.cleanup();
});

test('app B calls app A by name (APP:PORT and APP.ENV) with 0 failed requests while A rolls out and loses a replica', { timeout: 180_000 }, async () => {
  const api = await f.target.deploy(deployRequest('api', IMAGES.v1, testSpec({ replicas: 2 })));
  assert.equal(api.outcome, 'healthy', api.reason);
  const web = await f.target.deploy(deployRequest('web', caller, testSpec({ replicas: 2 })));
  assert.equal(web.outcome, 'healthy', web.reason);
  const port = await proxyPort(f.target, 'web');
  assert.match((await get(port)).body, /v1/, 'web answers with what api said');
  assert.match((await get(port, '/?via=api.test:8080')).body, /v1/, 'APP.ENV resolves too');
  const [status] = await f.target.dockerStatus('web', 'test');
  assert.match(status?.network ?? '', /^slipway-test-/, 'status names the network');

  const load = new Load(port, { concurrency: 6 }).start();
  const lines: string[] = [];
  const rolled = await f.target.deploy(deployRequest('api', IMAGES.v2, testSpec({ replicas: 2 }), lines));
  assert.equal(rolled.outcome, 'healthy', rolled.reason);
  const victim = (await containersOf(f.dataDir)).find((c) => c.name.startsWith('slipway-api-test-') && c.state === 'running');
  assert.ok(victim, 'a running api replica');
  await run('docker', ['kill', victim.id]);
  await eventually('api back at 2 ready replicas with the victim replaced', async () => {
    const [s] = await f.target.dockerStatus('api', 'test');
    return s?.replicas.ready === 2 && !s.replicaList.some((r) => r.id.startsWith(victim.id) && r.state === 'healthy');
  });
  const result = await load.stop();
  assert.equal(result.failed, 0, `failed requests: ${result.errors.join('\n')}`);
  assert.ok(result.ok > 50, `requests made: ${result.ok}`);
  assert.deepEqual(result.versions.filter((v) => v === 'v1' || v === 'v2').sort(), ['v1', 'v2'], `versions seen through discovery: ${result.versions.join(', ')}`);
});

test('SIGKILL of the deploy agent under 200 req/s fails no request, and the agent is back by itself', { timeout: 120_000 }, async () => {
  const deployed = await f.target.deploy(deployRequest('steady', IMAGES.v1, testSpec({ replicas: 2 })));
  assert.equal(deployed.outcome, 'healthy', deployed.reason);
  const port = await proxyPort(f.target, 'steady');
  const before = await f.target.client.ping();
  assert.ok(before);
  const load = new Load(port, { ratePerSecond: 200 }).start();
  await new Promise((resolve) => setTimeout(resolve, 500));
  const killedAt = Date.now();
  process.kill(before.pid, 'SIGKILL');
  // ping() only asks; it never starts an agent: whatever answers was started by the supervisor
  const back = await eventually('a new agent answering', async () => {
    const now = await f.target.client.ping();
    return now && now.pid !== before.pid ? now : undefined;
  }, 15_000, 50);
  const backMs = Date.now() - killedAt;
  await eventually('the new agent adopted both replicas', async () => {
    const [s] = await f.target.dockerStatus('steady', 'test');
    return s?.replicas.ready === 2;
  }, 15_000);
  await new Promise((resolve) => setTimeout(resolve, 500));
  const result = await load.stop();
  process.stdout.write(`# agent SIGKILL at 200 req/s: ${result.failed} of ${result.ok + result.failed} failed; agent back in ${backMs} ms (pid ${before.pid} → ${back.pid})\n`);
  assert.equal(result.failed, 0, result.errors.join('\n'));
  assert.ok(backMs < 5000, `back in ${backMs} ms`);
});
