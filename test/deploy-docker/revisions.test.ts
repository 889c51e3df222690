// "Revisions mean changes" on the real engine: a deploy of the image (by digest) and config the
// environment already serves is a no-op that touches no container; --force rolls it out anyway; a
// tag moved to another image is a change; rollback without --to skips revisions equal to the
// current one. And `slipway deploy` twice, as a user sees it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { slipwayBin } from '../support/paths.js';
import { buildImages, containersOf, deployRequest, fixture, get, IMAGES, proxyPort, testSpec, type Fixture } from './support.js';
import type { RollbackRequest } from '../../src/deploy/index.js';

const run = promisify(execFile);
const spec = testSpec({ replicas: 2 });

async function imageId(image: string): Promise<string> {
  return (await run('docker', ['image', 'inspect', '--format', '{{.Id}}', image])).stdout.trim();
}

/** Ids of the running replica containers, sorted. */
async function runningIds(dataDir: string): Promise<string[]> {
  return (await containersOf(dataDir)).filter((c) => c.state === 'running').map((c) => c.id).sort();
}

function rollbackRequest(app: string, lines: string[] = []): RollbackRequest {
  return { app, environment: 'test', by: 'test', signal: new AbortController().signal, onProgress: (line) => lines.push(line) };
}

describe('docker target: revisions mean changes', { timeout: 300_000 }, () => {
  let f: Fixture;
  const movingTag = `slipway-deploy-test/hello:moving-${process.pid}`;
  before(async () => {
    [f] = await Promise.all([fixture(), buildImages()]);
  });
  after(async () => {
    await f?.cleanup();
    await run('docker', ['rmi', movingTag]).catch(() => undefined);
  });

  it('an identical redeploy is a no-op: outcome unchanged, no new revision, the same containers keep serving', async () => {
    const first = await f.target.deploy(deployRequest('same', IMAGES.v1, spec));
    assert.equal(first.outcome, 'healthy', first.reason);
    assert.equal(first.revision.digest, await imageId(IMAGES.v1), 'the revision records the image id as its digest');
    const before = await runningIds(f.dataDir);
    assert.equal(before.length, 2);

    const lines: string[] = [];
    const again = await f.target.deploy(deployRequest('same', IMAGES.v1, spec, lines));
    assert.equal(again.outcome, 'unchanged');
    assert.equal(again.revision.number, 1, 'the outcome carries the current revision');
    assert.ok(!lines.some((l) => /rolling out/.test(l)), lines.join('\n'));
    assert.equal((await f.target.history('same', 'test')).length, 1, 'no revision was appended');
    assert.deepEqual(await runningIds(f.dataDir), before, 'no container was restarted');
    assert.match((await get(await proxyPort(f.target, 'same'))).body, /v1/);

    // the config is part of a revision: the same image with another replica count is a change
    const scaled = await f.target.deploy(deployRequest('same', IMAGES.v1, testSpec({ replicas: 3 })));
    assert.equal(scaled.outcome, 'healthy', scaled.reason);
    assert.equal(scaled.revision.number, 2);
  });

  it('force: true rolls out a new revision with new containers even when nothing changed', async () => {
    const before = await runningIds(f.dataDir);
    const lines: string[] = [];
    const forced = await f.target.deploy({ ...deployRequest('same', IMAGES.v1, testSpec({ replicas: 3 }), lines), force: true });
    assert.equal(forced.outcome, 'healthy', forced.reason);
    assert.equal(forced.revision.number, 3);
    assert.equal(forced.revision.digest, await imageId(IMAGES.v1));
    assert.ok(lines.some((l) => /--force: restarting its replicas as revision 3/.test(l)), lines.join('\n'));
    const after = await runningIds(f.dataDir);
    assert.equal(after.length, 3);
    assert.deepEqual(after.filter((id) => before.includes(id)), [], 'every replica is a new container');
  });

  it('a tag moved to another image is a change; rolling back restores the old image by its id', async () => {
    await run('docker', ['tag', IMAGES.v1, movingTag]);
    const first = await f.target.deploy(deployRequest('moving', movingTag, spec));
    assert.equal(first.outcome, 'healthy', first.reason);
    const port = await proxyPort(f.target, 'moving');
    assert.match((await get(port)).body, /v1/);

    await run('docker', ['tag', IMAGES.v2, movingTag]);
    const moved = await f.target.deploy(deployRequest('moving', movingTag, spec));
    assert.equal(moved.outcome, 'healthy', `the same tag on a new image must roll out: ${moved.outcome}`);
    assert.equal(moved.revision.number, 2);
    assert.equal(moved.revision.image, first.revision.image, 'the same reference');
    assert.notEqual(moved.revision.digest, first.revision.digest, 'another digest');
    assert.match((await get(port)).body, /v2/);

    // the tag names v2 now; revision 1 ran v1, and a rollback must run v1 again, not the tag
    const lines: string[] = [];
    const back = await f.target.rollback(rollbackRequest('moving', lines));
    assert.equal(back.outcome, 'healthy', back.reason);
    assert.equal(back.revision.restoredFrom, 1);
    assert.equal(back.revision.digest, first.revision.digest);
    assert.ok(lines.some((l) => /now names another image; restoring revision 1's own image/.test(l)), lines.join('\n'));
    assert.match((await get(port)).body, /v1/);
  });

  it('rollback without --to skips revisions identical to the current one: v1, v2, v2 --force → v1', async () => {
    for (const [image, force] of [[IMAGES.v1, false], [IMAGES.v2, false], [IMAGES.v2, true]] as const) {
      const outcome = await f.target.deploy({ ...deployRequest('twins', image, spec), force });
      assert.equal(outcome.outcome, 'healthy', outcome.reason);
    }
    const back = await f.target.rollback(rollbackRequest('twins'));
    assert.equal(back.outcome, 'healthy', back.reason);
    assert.equal(back.revision.number, 4);
    assert.equal(back.revision.restoredFrom, 1, 'revision 2 runs what revision 3 runs: not a step back');
    assert.match((await get(await proxyPort(f.target, 'twins'))).body, /v1/);
  });

  it('rollback without --to is refused, naming the twins, when every earlier healthy revision equals the current one', async () => {
    for (const force of [false, true]) {
      const outcome = await f.target.deploy({ ...deployRequest('alone', IMAGES.v1, spec), force });
      assert.equal(outcome.outcome, 'healthy', outcome.reason);
    }
    await assert.rejects(f.target.rollback(rollbackRequest('alone')), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ROLLOUT_NO_REVISION');
      assert.match(err.message, /no healthy revision before the current one \(2\) that differs from it \(revision 1 runs the same image and config\)/);
      return true;
    });
    assert.equal((await f.target.history('alone', 'test')).length, 2, 'nothing was appended');
  });
});

describe('slipway deploy of what already runs', { timeout: 180_000 }, () => {
  let f: Fixture;
  before(async () => {
    [f] = await Promise.all([fixture(), buildImages()]);
  });
  after(async () => {
    await f?.cleanup();
  });

  const deploy = (...extra: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      const args = [slipwayBin, 'deploy', 'staging', '--app', 'twice', '--image', IMAGES.v1, '--health-path', '/healthz', '--health-interval', '200ms', '--data', f.dataDir, ...extra];
      execFile(process.execPath, args, { cwd: f.dataDir, env: { ...process.env, NO_COLOR: '1' } }, (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      });
    });

  it('the second identical `slipway deploy` says there is nothing to do and exits 0; --force rolls out revision 2', async () => {
    const first = await deploy();
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /twice\/staging: revision 1 \(.*:v1\) is healthy/);

    const second = await deploy();
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /twice\/staging: revision 1 already runs this image and config; nothing to do \(use --force to restart its replicas as a new revision\); it serves at http:\/\/127\.0\.0\.1:\d+/);
    assert.doesNotMatch(second.stdout, /rolling out/);

    const json = await deploy('--json');
    assert.equal(json.code, 0, json.stderr);
    const outcome = JSON.parse(json.stdout) as { outcome: string; revision: { number: number } };
    assert.deepEqual([outcome.outcome, outcome.revision.number], ['unchanged', 1]);

    const forced = await deploy('--force');
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stdout, /rolling out revision 2/);
    assert.match(forced.stdout, /twice\/staging: revision 2 \(.*:v1\) is healthy/);
  });
});
