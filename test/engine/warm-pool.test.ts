// The server's warm job containers: a job adopts one started ahead of time, gets a clean
// workspace and its environment all the same, and never one made from an image a tag has left.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import Docker from 'dockerode';
import { DockerExecutor, type SandboxSpec } from '../../src/executors/index.js';
import { eventually } from '../support/wait.js';

const docker = new Docker();
const progress = { info: (): void => undefined };

function spec(jobName: string, image: string, env: Record<string, string> = {}): SandboxSpec {
  return { runId: `warm-${process.pid}-${jobName}`, jobName, attempt: 1, image, env, services: [] };
}

async function warmContainers(image: string): Promise<Docker.ContainerInfo[]> {
  const filters = JSON.stringify({ label: [`io.slipway.warm=${image}`] });
  return (await docker.listContainers({ all: true, filters })).filter((c) => c.Labels['io.slipway.owner']?.includes(`/${process.pid}/`));
}

async function output(run: (out: { stdout: Writable; stderr: Writable }) => Promise<number>): Promise<{ code: number; text: string }> {
  let text = '';
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  const code = await run({ stdout: sink, stderr: sink });
  return { code, text };
}

test('a job adopts the warm container its image left, with a clean workspace and its own env', async () => {
  const image = 'busybox:latest';
  const executor = new DockerExecutor(docker, { warmContainers: 1 });
  try {
    const first = await executor.createSandbox(spec('one', image), progress, new AbortController().signal);
    assert.equal((await output((out) => first.exec('echo leftover > mark.txt', {}, out, new AbortController().signal))).code, 0);
    await first.destroy();
    await eventually('a warm container', async () => executor.warmContainers().get(image) === 1);
    const [warm] = await warmContainers(image);

    const second = await executor.createSandbox(spec('two', image, { JOB_VAR: 'from-the-job' }), progress, new AbortController().signal);
    const adopted = await docker.getContainer(warm!.Id).inspect();
    assert.equal(adopted.Name, `/slipway-warm-${process.pid}-two-two-1`);
    const seen = await output((out) => second.exec('ls -A; echo "$JOB_VAR $STEP_VAR"; pwd', { STEP_VAR: 'from-the-step' }, out, new AbortController().signal));
    assert.equal(seen.code, 0);
    assert.equal(seen.text, 'from-the-job from-the-step\n/workspace\n', 'empty workspace, job and step env');
    await second.destroy();
    await assert.rejects(docker.getContainer(warm!.Id).inspect(), /no such container/i);
    await eventually('the pool refilled', async () => executor.warmContainers().get(image) === 1);
  } finally {
    await executor.close();
  }
  assert.equal((await warmContainers(image)).length, 0, 'close removes the warm containers');
  const volumes = (await docker.listVolumes({ filters: JSON.stringify({ label: [`io.slipway.warm=${image}`] }) })).Volumes ?? [];
  assert.equal(volumes.filter((v) => v.Labels['io.slipway.owner']?.includes(`/${process.pid}/`)).length, 0, 'and their volumes');
});

test('a tag moved to another image since the warm container was made: the job starts a fresh one', async () => {
  const tag = `slipway-warm-test:${process.pid}`;
  const [repo, version] = tag.split(':') as [string, string];
  await docker.getImage('busybox:latest').tag({ repo, tag: version });
  const executor = new DockerExecutor(docker, { warmContainers: 1 });
  try {
    await (await executor.createSandbox(spec('a', tag), progress, new AbortController().signal)).destroy();
    await eventually('a warm container', async () => executor.warmContainers().get(tag) === 1);
    const [stale] = await warmContainers(tag);
    await docker.getImage('node:20-slipway').tag({ repo, tag: version });
    const sandbox = await executor.createSandbox(spec('b', tag), progress, new AbortController().signal);
    const seen = await output((out) => sandbox.exec('node -e "console.log(1 + 1)"', {}, out, new AbortController().signal));
    assert.equal(seen.text.trim(), '2', 'the job ran in the image the tag names now');
    await eventually('the stale container removed', async () => {
      try {
        await docker.getContainer(stale!.Id).inspect();
        return false;
      } catch {
        return true;
      }
    });
    await sandbox.destroy();
  } finally {
    await executor.close();
    await docker.getImage(tag).remove().catch(() => undefined);
  }
});
