// A job's timeout or cancel stops its step whenever it comes, even while the step's command is
// still being set up in the engine (a loaded machine makes that window wide).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import Docker from 'dockerode';
import { DockerExecutor } from '../../src/executors/index.js';

const docker = new Docker();
const sink = (): Writable => new Writable({ write: (_chunk, _enc, done) => done() });

test('an abort that lands while a step is being started stops the step instead of waiting for it to end', async () => {
  const executor = new DockerExecutor(docker);
  const sandbox = await executor.createSandbox(
    { runId: `abort-${process.pid}`, jobName: 'slow', attempt: 1, image: 'busybox:latest', env: {}, services: [] },
    { info: () => undefined },
    new AbortController().signal,
  );
  try {
    const controller = new AbortController();
    const started = Date.now();
    const step = sandbox.exec('sleep 30', {}, { stdout: sink(), stderr: sink() }, controller.signal);
    // aborted before exec() has attached its stream: the abort event has already fired by then
    controller.abort(new Error('timed out'));
    await assert.rejects(step, /timed out/);
    assert.ok(Date.now() - started < 10_000, `the step stopped at once, not after the sleep (${Date.now() - started} ms)`);
  } finally {
    await sandbox.destroy();
    await executor.close();
  }
});
