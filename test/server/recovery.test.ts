// A server killed with SIGKILL mid-run and started again: the run is not left "running", it is
// marked interrupted, and its containers are reaped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { spawnServer } from '../support/server-process.js';
import { eventually as poll } from '../support/wait.js';
import { tempRepo } from '../support/repo.js';

const exec = promisify(execFile);
const TOKEN = 'recovery-admin-token-0123456789';

test('after a SIGKILL mid-run, the restarted server marks the run interrupted and reaps its containers', { timeout: 180_000 }, async () => {
  const data = mkdtempSync(path.join(os.tmpdir(), 'slipway-recovery-'));
  const repo = tempRepo({
    'slipway.yaml': 'version: 1\nname: sleepy\njobs:\n  nap:\n    image: busybox:latest\n    steps:\n      - name: long nap\n        run: echo napping; sleep 300\n',
  });
  const docker = new Docker();
  // port 0 both times: a port picked at random may be one the machine's outgoing connections use
  let server = spawnServer(data, { adminToken: TOKEN });
  try {
    const url = await server.url;
    const headers = { Authorization: `Bearer ${TOKEN}` };
    await exec('git', ['push', '-q', `${url.replace('http://', `http://t:${TOKEN}@`)}/git/sleepy.git`, 'main'], { cwd: repo.dir });
    const run = await poll('the step to start', async () => {
      const { runs } = (await (await fetch(`${url}/api/runs?project=sleepy`, { headers })).json()) as { runs: Array<{ id: string; status: string }> };
      const first = runs[0];
      if (!first || first.status !== 'running') return undefined;
      const detail = (await (await fetch(`${url}/api/runs/${first.id}`, { headers })).json()) as { jobs: Array<{ steps: Array<{ status: string }> }> };
      return detail.jobs[0]?.steps[0]?.status === 'running' ? first : undefined;
    }, 60_000);
    const labelled = JSON.stringify({ label: [`io.slipway.run=${run.id}`] });
    assert.ok((await docker.listContainers({ all: true, filters: labelled })).length > 0, 'the run has a container');

    const closed = new Promise((resolve) => server.child.once('close', resolve));
    server.child.kill('SIGKILL');
    await closed;
    server = spawnServer(data, { adminToken: TOKEN });
    const again = await server.url;
    const after = await poll('the run to be marked', async () => {
      const detail = (await (await fetch(`${again}/api/runs/${run.id}`, { headers })).json()) as { status: string; reason?: string };
      return detail.status === 'running' ? undefined : detail;
    }, 60_000);
    assert.equal(after.status, 'interrupted');
    assert.match(after.reason ?? '', /server stopped/);
    await poll('the containers to be reaped', async () => (await docker.listContainers({ all: true, filters: labelled })).length === 0, 30_000);
  } finally {
    await server.stop();
    repo.remove();
    rmSync(data, { recursive: true, force: true });
  }
});
