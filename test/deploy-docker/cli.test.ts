// The deploy commands as a user runs them: slipway deploy / status / history / rollback, their
// progress lines, tables and exit codes (0 healthy, 1 rolled back, 2 bad usage).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { slipwayBin } from '../support/paths.js';
import { buildImages, fixture, IMAGES, type Fixture } from './support.js';

function slipway(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [slipwayBin, ...args], { cwd, env: { ...process.env, NO_COLOR: '1' } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('slipway deploy, status, history, rollback', { timeout: 180_000 }, () => {
  let f: Fixture;
  before(async () => {
    [f] = await Promise.all([fixture(), buildImages()]);
  });
  after(async () => {
    await f?.cleanup();
  });
  const common = () => ['--data', f.dataDir];
  const fast = ['--health-path', '/healthz', '--health-interval', '200ms', '--unhealthy', '2'];

  it('deploys with progress lines and exit 0, then shows the environment in status', async () => {
    const res = await slipway(['deploy', 'staging', '--app', 'cli', '--image', IMAGES.v1, ...fast, ...common()], f.dataDir);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /^\d\d:\d\d:\d\d rolling out revision 1: 1 × /m);
    assert.match(res.stdout, /cli\/staging: revision 1 \(.*\) is healthy at http:\/\/127\.0\.0\.1:\d+/);
    const status = await slipway(['status', 'cli', ...common()], f.dataDir);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /cli\s+staging\s+1\s+\S+:v1\s+healthy\s+1\/1\s+http:\/\/127\.0\.0\.1:\d+/);
  });

  it('exits 1 with the reason on stderr when the rollout is rolled back, and history shows it', async () => {
    const res = await slipway(['deploy', 'staging', '--app', 'cli', '--image', IMAGES.crash, ...fast, ...common()], f.dataDir);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /revision 2 \(.*crash\) failed and was rolled back/);
    assert.match(res.stderr, /exited with code 3/);
    const history = await slipway(['history', 'cli', '--env', 'staging', ...common()], f.dataDir);
    assert.equal(history.code, 0);
    assert.match(history.stdout, /^REV\s+IMAGE\s+TRIGGER\s+WHEN\s+OUTCOME\s+REASON/);
    assert.match(history.stdout, /^2\s+\S+crash\s+deploy by \S+\s+[\d-]+ [\d:]+\s+rolled-back\s+revision 2 crashed/m);
  });

  it('exits 2 for bad usage and for a revision that cannot be restored', async () => {
    assert.equal((await slipway(['deploy', ...common()], f.dataDir)).code, 2);
    assert.equal((await slipway(['deploy', 'staging', '--app', 'cli', '--image', IMAGES.v1, '--replicas', 'many', ...common()], f.dataDir)).code, 2);
    const res = await slipway(['rollback', 'cli', '--to', '2', ...common()], f.dataDir);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /never became healthy/);
    for (const command of ['deploy', 'rollback', 'history', 'status']) {
      const help = await slipway([command, '--help'], f.dataDir);
      assert.equal(help.code, 0);
      assert.match(help.stdout, new RegExp(`^usage: slipway ${command}`));
    }
  });
});
