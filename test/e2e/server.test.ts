// The whole factory as a user drives it: `slipway server`, `git push` of the example app, its
// pipeline tested, built, pushed to the built-in registry, smoke-tested and deployed to staging by
// itself; the run waits at production for a person (through a SIGKILL of the server), who approves
// it, and production gets the digest staging runs. A second push rolls the new version out the
// same way; a push with a broken health check is rolled back on staging and never reaches production.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { examplesDir, slipwayBin } from '../support/paths.js';
import { removeDeployments } from '../deploy-docker/support.js';
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

interface RevisionView {
  number: number;
  image: string;
  outcome: string;
  runId?: string;
}

/** `slipway server` on `port` over `data`; its output goes into `log`. */
function startServer(port: number, data: string, log: (text: string) => void): ChildProcess {
  const server = spawn(process.execPath, [slipwayBin, 'server', '--port', String(port), '--host', '127.0.0.1', '--data', data], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, SLIPWAY_HOME: path.join(data, 'home') },
  });
  server.stderr!.on('data', (d: Buffer) => log(d.toString()));
  server.stdout!.on('data', (d: Buffer) => log(d.toString()));
  return server;
}

async function stopServer(server: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (server.exitCode !== null || server.signalCode !== null) return;
  const closed = new Promise((resolve) => server.once('close', resolve));
  server.kill(signal);
  await closed;
}

test('git push → tested, built, smoke-tested, on staging by itself; production waits for approval through a server kill and gets the same digest; a change rolls out; a broken health check rolls back on staging', { timeout: 600_000 }, async () => {
  const data = mkdtempSync(path.join(os.tmpdir(), 'slipway-e2e-'));
  const work = mkdtempSync(path.join(os.tmpdir(), 'slipway-e2e-repo-'));
  const port = await freePort();
  const stagingPort = await freePort();
  const productionPort = await freePort();
  let serverLog = '';
  const log = (text: string): void => void (serverLog += text);
  let server = startServer(port, data, log);
  const base = `http://127.0.0.1:${port}`;
  try {
    // each poll gives up after a while of its own: a hung one must not use up the whole wait
    const healthy = async (): Promise<boolean | undefined> => (await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(5000) }).catch(() => undefined))?.ok;
    await eventually('the server', healthy, 60_000);
    const token = readFileSync(path.join(data, 'admin-token'), 'utf8').trim();
    const api = async <T>(p: string): Promise<T> => (await (await fetch(`${base}${p}`, { headers: { Authorization: `Bearer ${token}` } })).json()) as T;
    const cliEnv = { SLIPWAY_URL: base, SLIPWAY_TOKEN: token };

    cpSync(path.join(examplesDir, 'hello-web'), work, { recursive: true });
    const pipelineFile = path.join(work, 'slipway.yaml');
    const pipeline = readFileSync(pipelineFile, 'utf8')
      .replace(/(environment: staging\n(?:.*\n)*?      port: 8080\n)/, `$1      publish: ${stagingPort}\n`)
      .replace(/(environment: production\n(?:.*\n)*?      port: 8080\n)/, `$1      publish: ${productionPort}\n`);
    assert.ok(pipeline.includes(`publish: ${stagingPort}`) && pipeline.includes(`publish: ${productionPort}`), 'the example deploys on chosen ports');
    writeFileSync(pipelineFile, pipeline);
    const git = (...args: string[]) => exec('git', args, { cwd: work });
    await git('init', '-q', '-b', 'main');
    await git('add', '-A');
    await git('-c', 'user.email=e2e@slipway.local', '-c', 'user.name=e2e', 'commit', '-qm', 'first');
    const remote = `http://e2e:${token}@127.0.0.1:${port}/git/hello-web.git`;

    const runOf = async (number: number): Promise<RunView | undefined> => (await api<{ runs: RunView[] }>('/api/runs?project=hello-web')).runs.find((r) => r.number === number);
    const settled = (number: number): Promise<RunView> =>
      eventually(`run ${number}`, async () => {
        const run = await runOf(number);
        return run && run.status !== 'queued' && run.status !== 'running' ? run : undefined;
      }, 300_000);
    const pushAndWait = async (number: number): Promise<RunView> => {
      await git('push', '-q', remote, 'main');
      return settled(number);
    };
    const approve = async (run: RunView): Promise<RunView> => {
      const approved = await exec(process.execPath, [slipwayBin, 'approve', run.id, 'production'], { env: { ...process.env, ...cliEnv } });
      assert.match(approved.stdout, /production approved by admin/);
      return settled(run.number);
    };
    const served = async (publish: number): Promise<string> => (await fetch(`http://127.0.0.1:${publish}/`)).text();
    const revisions = (env: string): Promise<{ revisions: RevisionView[] }> => api(`/api/apps/hello-web/environments/${env}/revisions`);

    // 1: the first push reaches staging by itself and waits at production, holding nothing
    const first = await pushAndWait(1);
    assert.equal(first.status, 'waiting', `${first.reason ?? ''}\n${serverLog}`);
    assert.equal(await served(stagingPort), `hello from hello-web ${first.trigger.commit}\n`);
    const waiting = await api<{ jobs: Array<{ name: string; status: string; outputs?: Record<string, string> }> }>(`/api/runs/${first.id}`);
    assert.deepEqual(waiting.jobs.map((j) => [j.name, j.status]).sort(), [['image', 'success'], ['production', 'waiting'], ['smoke', 'success'], ['staging', 'success'], ['test', 'success']]);
    const digest = waiting.jobs.find((j) => j.name === 'image')?.outputs?.image ?? '';
    assert.match(digest, /^127\.0\.0\.1:\d+\/hello-web@sha256:[0-9a-f]{64}$/);
    const { stdout: jobContainers } = await exec('docker', ['ps', '-aq', '--filter', `label=io.slipway.run=${first.id}`]);
    assert.equal(jobContainers.trim(), '', 'no container while the run waits');

    // the server is killed while the run waits, and started again: the run still waits
    await stopServer(server, 'SIGKILL');
    server = startServer(port, data, log);
    await eventually('the server again', healthy, 60_000);
    assert.equal((await runOf(1))?.status, 'waiting', 'a waiting run survives a kill');

    const approved = await approve(first);
    assert.equal(approved.status, 'success', `${approved.reason ?? ''}\n${serverLog}`);
    assert.equal(await served(productionPort), `hello from hello-web ${first.trigger.commit}\n`);
    const [staging1] = (await revisions('staging')).revisions;
    const [production1] = (await revisions('production')).revisions;
    assert.equal(staging1?.image, digest, 'staging runs the digest the build pushed');
    assert.equal(production1?.image, digest, 'production got exactly that digest');
    const basic = `Basic ${Buffer.from(`e2e:${token}`).toString('base64')}`;
    const tags = (await (await fetch(`${base}/v2/hello-web/tags/list`, { headers: { Authorization: basic } })).json()) as { tags: string[] };
    assert.ok(tags.tags.includes(first.trigger.commit) && tags.tags.includes('latest'), 'the image is in the built-in registry');
    const history = await exec(process.execPath, [slipwayBin, 'history', 'hello-web'], { env: { ...process.env, ...cliEnv } });
    const withDigest = history.stdout.split('\n').filter((line) => line.includes(digest));
    assert.deepEqual(withDigest.map((line) => line.split(/\s+/)[0]).sort(), ['production', 'staging'], `both environments' history shows the digest:\n${history.stdout}`);

    // 2: a change rolls out to staging, and to production once approved
    writeFileSync(path.join(work, 'CHANGES.md'), 'second version\n');
    await git('add', '-A');
    await git('-c', 'user.email=e2e@slipway.local', '-c', 'user.name=e2e', 'commit', '-qm', 'second');
    const second = await pushAndWait(2);
    assert.equal(second.status, 'waiting', second.reason);
    assert.equal(await served(stagingPort), `hello from hello-web ${second.trigger.commit}\n`);
    assert.equal(await served(productionPort), `hello from hello-web ${first.trigger.commit}\n`, 'production keeps the approved version until the next approval');
    assert.equal((await approve(second)).status, 'success');
    assert.equal(await served(productionPort), `hello from hello-web ${second.trigger.commit}\n`);

    // 3: a broken health check is rolled back on staging; production is never asked for
    writeFileSync(pipelineFile, pipeline.replaceAll('health: { path: /healthz', 'health: { path: /no-such-health-check').replaceAll('progressDeadline: 60s', 'progressDeadline: 15s'));
    assert.ok(readFileSync(pipelineFile, 'utf8').includes('/no-such-health-check'));
    writeFileSync(path.join(work, 'CHANGES.md'), 'third version, broken\n');
    await git('add', '-A');
    await git('-c', 'user.email=e2e@slipway.local', '-c', 'user.name=e2e', 'commit', '-qm', 'third');
    const third = await pushAndWait(3);
    assert.equal(third.status, 'failure');
    assert.match(third.reason ?? '', /rolled back/);
    assert.equal(await served(stagingPort), `hello from hello-web ${second.trigger.commit}\n`);
    assert.equal(await served(productionPort), `hello from hello-web ${second.trigger.commit}\n`);

    // the rollouts are the server's history, and its DORA metrics come from production's
    const dora = await api<{ deployments: number; changeFailureRate?: number; leadTimeMedianMs?: number }>('/api/dora?project=hello-web&environment=production&days=1');
    assert.equal(dora.deployments, 2, JSON.stringify(dora));
    assert.equal(dora.changeFailureRate, 0, JSON.stringify(dora));
    assert.ok((dora.leadTimeMedianMs ?? 0) > 0, 'lead time from commit to healthy rollout');
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /slipway_rollouts_total\{target="docker",outcome="healthy"\} 4/);
    assert.match(metrics, /slipway_rollouts_total\{target="docker",outcome="rolled-back"\} 1/);
  } finally {
    await stopServer(server, 'SIGTERM');
    await removeDeployments(path.join(data, 'deploy'));
    rmSync(data, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  }
});
