// A restart of the Docker engine brings every environment back at its current revision, with no
// slipway command run: Docker restarts the replicas and the data plane (restart policies), the
// agent's supervisor starts a fresh agent that adopts them. Serial: it stops the engine every other
// test uses.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { promisify } from 'node:util';
import { buildImages, deployRequest, eventually, fixture, get, IMAGES, proxyPort, testSpec, type Fixture } from './support.js';

const run = promisify(execFile);
let f: Fixture;

before(async () => {
  [f] = await Promise.all([fixture(), buildImages()]);
});
after(async () => {
  await engineAnswers(60_000);
  await f?.cleanup();
});

async function engineAnswers(timeoutMs: number): Promise<void> {
  await eventually('the Docker engine answering', async () => (await run('docker', ['version', '--format', '{{.Server.APIVersion}}'], { timeout: 5000 })).stdout.trim() !== '', timeoutMs, 250);
}

async function restartEngine(): Promise<void> {
  const { stdout } = await run('pidof', ['dockerd']);
  const pid = Number(stdout.trim().split(' ')[0]);
  process.kill(pid, 'SIGTERM');
  await eventually('dockerd to exit', async () => {
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  }, 60_000, 100);
  // started as scripts/setup.sh starts it
  const log = openSync('/var/log/slipway-dockerd.log', 'a');
  spawn('dockerd', [], { detached: true, stdio: ['ignore', log, log] }).unref();
  await engineAnswers(60_000);
}

test('after the Docker engine is stopped and started, every environment serves again at its current revision', { timeout: 240_000 }, async () => {
  const first = await f.target.deploy(deployRequest('alpha', IMAGES.v1, testSpec({ replicas: 2 })));
  assert.equal(first.outcome, 'healthy', first.reason);
  const second = await f.target.deploy(deployRequest('beta', IMAGES.v1, testSpec({ environment: 'other', replicas: 1 })));
  assert.equal(second.outcome, 'healthy', second.reason);
  const upgraded = await f.target.deploy(deployRequest('beta', IMAGES.v2, testSpec({ environment: 'other', replicas: 1 })));
  assert.equal(upgraded.outcome, 'healthy', upgraded.reason);
  const alphaPort = await proxyPort(f.target, 'alpha');
  const betaPort = await proxyPort(f.target, 'beta', 'other');
  const agentBefore = await f.target.client.ping();

  const stoppedAt = Date.now();
  await restartEngine();
  await eventually('alpha serving v1 again', async () => /v1/.test((await get(alphaPort)).body), 60_000, 200);
  await eventually('beta serving v2 again', async () => /v2/.test((await get(betaPort)).body), 60_000, 200);
  const servingMs = Date.now() - stoppedAt;
  const agentAfter = await eventually('an agent answering', () => f.target.client.ping(), 30_000);
  assert.notEqual(agentAfter.pid, agentBefore?.pid, 'a fresh agent took over, started by its supervisor');
  await eventually('the fresh agent sees both environments whole', async () => {
    const all = await f.target.dockerStatus();
    const alpha = all.find((s) => s.app === 'alpha');
    const beta = all.find((s) => s.app === 'beta');
    return alpha?.current?.number === 1 && alpha.replicas.ready === 2 && beta?.current?.number === 2 && beta.replicas.ready === 1;
  }, 60_000, 250);
  process.stdout.write(`# engine stop+start: every environment serving again ${servingMs} ms after the stop began\n`);
});
