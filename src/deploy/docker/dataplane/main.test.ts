// The data plane as a process: killed with SIGKILL and started again with the same state file, it
// serves the same port and upstreams before any controller calls it; SIGTERM lets in-flight
// requests finish and exits 0.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataPlaneClient } from './client.js';
import { holdingUpstream, request, upstream, type TestUpstream } from '../../../../test/support/dataplane.js';
import { eventually } from '../../../../test/support/wait.js';

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

describe('data plane process', () => {
  const children: ChildProcess[] = [];
  const upstreams: TestUpstream[] = [];
  const dirs: string[] = [];
  after(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const u of upstreams) u.close();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  async function start(dir: string): Promise<{ child: ChildProcess; client: DataPlaneClient }> {
    const control = path.join(dir, 'ctl.sock');
    const child = spawn(process.execPath, [MAIN, '--control', control, '--state', path.join(dir, 'state.json')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    child.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
    children.push(child);
    const client = new DataPlaneClient(control);
    await eventually(`the data plane to answer (log: ${log})`, () => client.ping(), 10_000, 50);
    return { child, client };
  }

  async function workspace(): Promise<string> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'slipway-dataplane-'));
    dirs.push(dir);
    return dir;
  }

  it('after SIGKILL, started again with the same state file, it serves the same port and upstream with no control call', async () => {
    const dir = await workspace();
    const app = await upstream('app');
    upstreams.push(app);
    const first = await start(dir);
    const [bound] = await first.client.configure({ listeners: [{ pool: 'web/production', address: '127.0.0.1', port: 0 }] });
    const port = bound?.port ?? 0;
    await first.client.add('web/production', { id: 'replica-1', host: '127.0.0.1', port: app.port });
    assert.equal((await request({ port })).status, 200);

    first.child.kill('SIGKILL');
    await once(first.child, 'exit');
    await assert.rejects(request({ port }), 'nothing serves while it is down');

    const second = spawn(process.execPath, [MAIN, '--control', path.join(dir, 'ctl.sock'), '--state', path.join(dir, 'state.json')], { stdio: 'ignore' });
    children.push(second);
    // No control call: only requests to the app's port until it answers.
    const answer = await eventually('the restarted data plane to serve', () => request({ port }).catch(() => undefined), 10_000, 50);
    assert.equal(answer.status, 200);
    assert.equal((JSON.parse(answer.body) as { name: string }).name, 'app');
  });

  it('SIGTERM: stops accepting, lets the in-flight request finish, exits 0', async () => {
    const dir = await workspace();
    const slow = await holdingUpstream('slow', 'started ');
    upstreams.push(slow);
    const { child, client } = await start(dir);
    const [bound] = await client.configure({ listeners: [{ pool: 'slow', address: '127.0.0.1', port: 0 }] });
    await client.add('slow', { id: 's1', host: '127.0.0.1', port: slow.port });
    const pending = request({ port: bound?.port ?? 0 });
    await slow.arrived;
    const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
    child.kill('SIGTERM');
    await eventually('the control socket to close', async () => !(await client.ping()), 5000, 20);
    await assert.rejects(request({ port: bound?.port ?? 0 }), 'no new connections');
    slow.release('finished');
    assert.equal((await pending).body, 'started finished');
    assert.deepEqual(await exited, [0, null]);
  });
});
