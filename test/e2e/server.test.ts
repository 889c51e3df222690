// The whole factory as a user drives it: `slipway server`, `git push` of the example app, its
// pipeline tested, built, pushed to the built-in registry, smoke-tested and deployed; a second push
// rolls the new version out; a push with a broken health check is rolled back automatically.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { examplesDir, slipwayBin } from '../support/paths.js';
import { DockerDeployTarget } from '../../src/deploy/docker/index.js';
import { removeContainers } from '../deploy-docker/support.js';
import { eventually } from '../support/wait.js';

const exec = promisify(execFile);

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

interface RunView {
  id: string;
  number: number;
  status: string;
  reason?: string;
  trigger: { commit: string };
}

test('git push → tested, built, pushed, smoke-tested, deployed; a change rolls out; a broken health check rolls back', { timeout: 600_000 }, async () => {
  const data = mkdtempSync(path.join(os.tmpdir(), 'slipway-e2e-'));
  const work = mkdtempSync(path.join(os.tmpdir(), 'slipway-e2e-repo-'));
  const port = await freePort();
  const publish = await freePort();
  const server = spawn(process.execPath, [slipwayBin, 'server', '--port', String(port), '--host', '127.0.0.1', '--data', data], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, SLIPWAY_HOME: path.join(data, 'home') },
  });
  let serverLog = '';
  server.stderr.on('data', (d: Buffer) => (serverLog += d.toString()));
  server.stdout.on('data', (d: Buffer) => (serverLog += d.toString()));
  const base = `http://127.0.0.1:${port}`;
  try {
    await eventually('the server', async () => (await fetch(`${base}/healthz`)).ok, 30_000);
    const token = readFileSync(path.join(data, 'admin-token'), 'utf8').trim();
    const api = async <T>(p: string): Promise<T> => (await (await fetch(`${base}${p}`, { headers: { Authorization: `Bearer ${token}` } })).json()) as T;

    cpSync(path.join(examplesDir, 'hello-web'), work, { recursive: true });
    const pipelineFile = path.join(work, 'slipway.yaml');
    const pipeline = readFileSync(pipelineFile, 'utf8').replace('      port: 8080\n', `      port: 8080\n      publish: ${publish}\n`);
    assert.ok(pipeline.includes(`publish: ${publish}`), 'the example deploys on a chosen port');
    writeFileSync(pipelineFile, pipeline);
    const git = (...args: string[]) => exec('git', args, { cwd: work });
    await git('init', '-q', '-b', 'main');
    await git('add', '-A');
    await git('-c', 'user.email=e2e@slipway.local', '-c', 'user.name=e2e', 'commit', '-qm', 'first');
    const remote = `http://e2e:${token}@127.0.0.1:${port}/git/hello-web.git`;

    const pushAndWait = async (number: number): Promise<RunView> => {
      await git('push', '-q', remote, 'main');
      return eventually(
        `run ${number}`,
        async () => {
          const { runs } = await api<{ runs: RunView[] }>('/api/runs?project=hello-web');
          const run = runs.find((r) => r.number === number);
          return run && run.status !== 'queued' && run.status !== 'running' ? run : undefined;
        },
        300_000,
      );
    };
    const served = async (): Promise<string> => (await fetch(`http://127.0.0.1:${publish}/`)).text();

    // 1: the first push goes all the way
    const first = await pushAndWait(1);
    assert.equal(first.status, 'success', `${first.reason ?? ''}\n${serverLog}`);
    assert.equal(await served(), `hello from hello-web ${first.trigger.commit}\n`);
    const basic = `Basic ${Buffer.from(`e2e:${token}`).toString('base64')}`;
    const tags = (await (await fetch(`${base}/v2/hello-web/tags/list`, { headers: { Authorization: basic } })).json()) as { tags: string[] };
    assert.ok(tags.tags.includes(first.trigger.commit) && tags.tags.includes('latest'), 'the image is in the built-in registry');
    const detail = await api<{ jobs: Array<{ name: string; status: string; outputs?: Record<string, string> }> }>(`/api/runs/${first.id}`);
    assert.deepEqual(detail.jobs.map((j) => [j.name, j.status]).sort(), [['deploy', 'success'], ['image', 'success'], ['smoke', 'success'], ['test', 'success']]);
    // the build's outputs are kept: what a re-run of failed jobs hands to the jobs after it
    assert.match(detail.jobs.find((j) => j.name === 'image')?.outputs?.image ?? '', /^127\.0\.0\.1:\d+\/hello-web@sha256:[0-9a-f]{64}$/);

    // 2: a change rolls out
    writeFileSync(path.join(work, 'CHANGES.md'), 'second version\n');
    await git('add', '-A');
    await git('-c', 'user.email=e2e@slipway.local', '-c', 'user.name=e2e', 'commit', '-qm', 'second');
    const second = await pushAndWait(2);
    assert.equal(second.status, 'success', second.reason);
    assert.equal(await served(), `hello from hello-web ${second.trigger.commit}\n`);

    // 3: a broken health check is rolled back; the second version keeps serving
    writeFileSync(pipelineFile, pipeline.replace('health: { path: /healthz', 'health: { path: /no-such-health-check').replace('progressDeadline: 60s', 'progressDeadline: 15s'));
    assert.ok(readFileSync(pipelineFile, 'utf8').includes('/no-such-health-check'));
    writeFileSync(path.join(work, 'CHANGES.md'), 'third version, broken\n');
    await git('add', '-A');
    await git('-c', 'user.email=e2e@slipway.local', '-c', 'user.name=e2e', 'commit', '-qm', 'third');
    const third = await pushAndWait(3);
    assert.equal(third.status, 'failure');
    assert.match(third.reason ?? '', /rolled back/);
    assert.equal(await served(), `hello from hello-web ${second.trigger.commit}\n`);

    // the three rollouts are the server's history, and its DORA metrics come from them
    const dora = await api<{ deployments: number; changeFailureRate?: number; leadTimeMedianMs?: number }>('/api/dora?project=hello-web&environment=production&days=1');
    assert.equal(dora.deployments, 2, JSON.stringify(dora));
    assert.ok(Math.abs((dora.changeFailureRate ?? 0) - 1 / 3) < 1e-9, JSON.stringify(dora));
    assert.ok((dora.leadTimeMedianMs ?? 0) > 0, 'lead time from commit to healthy rollout');
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /slipway_rollouts_total\{target="docker",outcome="healthy"\} 2/);
    assert.match(metrics, /slipway_rollouts_total\{target="docker",outcome="rolled-back"\} 1/);
  } finally {
    server.kill('SIGTERM');
    await new Promise((resolve) => server.once('close', resolve));
    const deployData = path.join(data, 'deploy');
    await new DockerDeployTarget({ dataDir: deployData }).client.shutdown(true).catch(() => undefined);
    await removeContainers(deployData);
    rmSync(data, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  }
});
