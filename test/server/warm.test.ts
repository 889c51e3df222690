// Warm job containers in the server: removed when it stops, and started again for the images of
// recent runs when it starts, so the first push after a restart does not wait for a container.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import Docker from 'dockerode';
import { startServer } from '../../src/server/index.js';
import { testServer, tempRepo } from './support.js';
import { eventually } from '../support/wait.js';

const docker = new Docker();

async function warm(image: string): Promise<Docker.ContainerInfo[]> {
  const filters = JSON.stringify({ label: [`io.slipway.warm=${image}`], status: ['running'] });
  return (await docker.listContainers({ filters })).filter((c) => c.Labels['io.slipway.owner']?.includes(`/${process.pid}/`));
}

test('a restarted server warms the images of its recent runs; a stopped one leaves no warm container', async () => {
  const image = 'busybox:latest';
  const repo = tempRepo({ 'slipway.yaml': `version: 1\nname: warmed\njobs:\n  hi:\n    image: ${image}\n    steps:\n      - run: echo hi\n` });
  const first = await testServer({ concurrency: 1 });
  try {
    await first.push(repo, 'warmed');
    assert.equal((await first.waitForRun('warmed', 1)).status, 'success');
    await eventually('a warm container after the run', async () => (await warm(image)).length === 1);
  } finally {
    await first.close();
  }
  assert.equal((await warm(image)).length, 0, 'the stopped server removed its warm container');

  const second = await startServer(
    { port: 0, host: '127.0.0.1', dataDir: first.data, concurrency: 1, allowAutoCreate: true, retryInterrupted: false },
    { ...process.env, SLIPWAY_ADMIN_TOKEN: first.token },
    () => undefined,
  );
  try {
    await eventually('a warm container for the recent run image', async () => (await warm(image)).length === 1);
  } finally {
    await second.close();
    rmSync(first.data, { recursive: true, force: true });
    repo.remove();
  }
  assert.equal((await warm(image)).length, 0);
});
