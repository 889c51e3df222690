// Scaling on the docker target, against the real engine: `scale` up and down under continuous load
// with no failed request, recorded as a scale event (no revision); the count kept by an agent
// restart, self-healing and a later deploy; refusals; autoscaling that adds replicas under a load
// step and removes them after it; and `slipway scale` as a user runs it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { slipwayBin } from '../support/paths.js';
import { DeployError, readScaleEvents, type ScaleRequest } from '../../src/deploy/index.js';
import { buildImages, containersOf, deployRequest, eventually, fixture, get, IMAGES, Load, proxyPort, testSpec, type Fixture } from './support.js';

const run = promisify(execFile);

function scaleRequest(app: string, replicas: number, lines: string[] = [], environment = 'test'): ScaleRequest {
  return { app, environment, replicas, by: 'alice', signal: new AbortController().signal, onProgress: (line) => lines.push(line) };
}

describe('docker target: scale and autoscale', { timeout: 300_000 }, () => {
  let f: Fixture;
  before(async () => {
    [f] = await Promise.all([fixture(), buildImages()]);
  });
  after(async () => {
    await f?.cleanup();
  });

  const ready = async (app: string) => (await f.target.dockerStatus(app, 'test'))[0];

  it('scales 2 → 4 → 1 under continuous load with no failed request, as scale events and no new revision', async () => {
    const app = 'scaled';
    const first = await f.target.deploy(deployRequest(app, IMAGES.v1, testSpec({ replicas: 2 })));
    assert.equal(first.outcome, 'healthy', first.reason);
    const port = await proxyPort(f.target, app);
    const load = new Load(port, { concurrency: 4 }).start();

    const lines: string[] = [];
    const up = await f.target.scale(scaleRequest(app, 4, lines));
    assert.equal(up.outcome, 'healthy', `${up.reason}\n${lines.join('\n')}`);
    assert.deepEqual([up.event.from, up.event.to, up.event.by, up.event.revision], [2, 4, 'alice', 1]);
    assert.ok(lines.some((l) => /scaling revision 1 from 2 to 4 replicas/.test(l)), lines.join('\n'));
    let status = await ready(app);
    assert.deepEqual([status?.replicas.desired, status?.replicas.ready], [4, 4]);

    const down = await f.target.scale(scaleRequest(app, 1));
    assert.equal(down.outcome, 'healthy', down.reason);
    status = await ready(app);
    assert.deepEqual([status?.replicas.desired, status?.replicas.ready], [1, 1]);
    const result = await load.stop();
    assert.equal(result.failed, 0, result.errors.join('\n'));
    assert.ok(result.ok > 50, `only ${result.ok} requests served`);
    await eventually('the surplus containers removed', async () => (await containersOf(f.dataDir)).filter((c) => c.name.includes(`-${app}-`)).length === 1);

    assert.equal((await f.target.history(app, 'test')).length, 1, 'no new revision');
    const events = await readScaleEvents(f.dataDir, app, 'test');
    assert.deepEqual(events.map((e) => [e.from, e.to, e.by, e.outcome, e.revision]), [[2, 4, 'alice', 'healthy', 1], [4, 1, 'alice', 'healthy', 1]]);
    assert.match((await ready(app))?.message ?? '', /scaled from 4 to 1 by alice/);

    const same = await f.target.scale(scaleRequest(app, 1));
    assert.equal(same.unchanged, true);
    assert.equal((await readScaleEvents(f.dataDir, app, 'test')).length, 2, 'nothing changed, nothing recorded');
  });

  it('keeps the scaled count through an agent restart and self-healing', async () => {
    const app = 'scaled';
    assert.equal((await f.target.scale(scaleRequest(app, 3))).outcome, 'healthy');
    const before = (await containersOf(f.dataDir)).filter((c) => c.name.includes(`-${app}-`)).map((c) => c.id).sort();
    assert.equal(before.length, 3);
    await f.target.client.shutdown(false);
    await f.target.client.ensureRunning();
    await eventually('3 adopted replicas serving', async () => {
      const s = await ready(app);
      return s?.replicas.desired === 3 && s.replicas.ready === 3;
    });
    assert.deepEqual((await containersOf(f.dataDir)).filter((c) => c.name.includes(`-${app}-`)).map((c) => c.id).sort(), before, 'adopted, not replaced');

    const [victim] = before;
    await run('docker', ['kill', victim ?? '']);
    await eventually('a replacement: 3 serving again', async () => {
      const s = await ready(app);
      const healthy = s?.replicaList.filter((r) => r.state === 'healthy') ?? [];
      return healthy.length === 3 && healthy.every((r) => !r.id.startsWith(victim ?? '-')) && s?.replicas.desired === 3;
    });
  });

  it('a later deploy keeps the scaled count unless its block changes replicas', async () => {
    const app = 'scaled';
    const lines: string[] = [];
    const next = await f.target.deploy(deployRequest(app, IMAGES.v2, testSpec({ replicas: 2 }), lines));
    assert.equal(next.outcome, 'healthy', next.reason);
    assert.equal(next.revision.config.replicas, 2, 'the revision records the block as written');
    assert.ok(lines.some((l) => /3 replicas: the count scaled\/test runs now, not the deploy block's 2/.test(l)), lines.join('\n'));
    assert.deepEqual([(await ready(app))?.replicas.desired, (await ready(app))?.replicas.ready], [3, 3]);
    const changed = await f.target.deploy(deployRequest(app, IMAGES.v1, testSpec({ replicas: 1 })));
    assert.equal(changed.outcome, 'healthy', changed.reason);
    assert.equal((await ready(app))?.replicas.desired, 1, 'the block said something else: it wins');
  });

  it('refuses a count out of range and an environment never deployed, and scales to 0 and back', async () => {
    const app = 'scaled';
    await assert.rejects(f.target.scale(scaleRequest(app, 1001)), (err: unknown) => err instanceof DeployError && err.code === 'ROLLOUT_INVALID' && /from 0 to 1000, not 1001/.test(err.message));
    await assert.rejects(f.target.scale(scaleRequest(app, 2, [], 'nowhere')), (err: unknown) => err instanceof DeployError && err.code === 'ROLLOUT_NO_REVISION');
    const port = await proxyPort(f.target, app);
    assert.equal((await f.target.scale(scaleRequest(app, 0))).outcome, 'healthy');
    assert.deepEqual((await ready(app))?.replicas, { desired: 0, ready: 0 });
    assert.equal((await get(port)).status, 503, 'no replica: the proxy answers 503 after holding the request');
    assert.equal((await f.target.scale(scaleRequest(app, 1))).outcome, 'healthy');
    assert.equal((await get(port)).status, 200);
  });

  it('autoscaling adds replicas under a load step and removes them after it, each a scale event by the autoscaler', async () => {
    const app = 'auto';
    const spec = testSpec({ replicas: 1, autoscale: { min: 1, max: 4, targetInflight: 4, cooldown: { upMs: 1000, downMs: 4000 } } });
    const first = await f.target.deploy(deployRequest(app, IMAGES.v1, spec));
    assert.equal(first.outcome, 'healthy', first.reason);
    const port = await proxyPort(f.target, app);
    // the step: 12 requests in flight at all times (each held 300 ms by the app), 3 replicas' worth
    const load = new Load(port, { concurrency: 12, path: '/slow?ms=300' }).start();
    const grown = await eventually('the autoscaler adding replicas that serve', async () => {
      const s = await ready(app);
      return s && s.replicas.desired >= 3 && s.replicas.ready === s.replicas.desired ? s.replicas.desired : undefined;
    }, 40_000, 200);
    assert.ok(grown <= 4, `at most max: ${grown}`);
    const result = await load.stop();
    assert.equal(result.failed, 0, result.errors.join('\n'));
    // the load is gone: after cooldown.down of quiet, back to min
    const events = await eventually('the autoscaler removing them (recorded once the surplus replicas drained and stopped)', async () => {
      const s = await ready(app);
      const recorded = await readScaleEvents(f.dataDir, app, 'test');
      return s?.replicas.desired === 1 && s.replicas.ready === 1 && recorded.at(-1)?.to === 1 ? recorded : undefined;
    }, 40_000, 200);
    assert.ok(events.length >= 2, JSON.stringify(events));
    assert.ok(events.every((e) => e.by === 'autoscaler' && e.outcome === 'healthy'), JSON.stringify(events));
    assert.match(events[0]?.cause ?? '', /in-flight \d+\.\d per replica, target 4/);
    assert.equal(events.at(-1)?.to, 1);
    assert.equal((await f.target.history(app, 'test')).length, 1, 'no new revision');
    // a count outside min..max is refused while autoscale manages it
    await assert.rejects(f.target.scale(scaleRequest(app, 9)), /autoscales between 1 and 4; 9 is outside/);
  });
});

function slipway(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [slipwayBin, ...args], { cwd, env: { ...process.env, NO_COLOR: '1', USER: 'carol' } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('slipway scale', { timeout: 180_000 }, () => {
  let f: Fixture;
  before(async () => {
    [f] = await Promise.all([fixture(), buildImages()]);
  });
  after(async () => {
    await f?.cleanup();
  });
  const data = () => ['--data', f.dataDir];

  it('scales with progress lines and exit 0; history shows the scale event between the revisions', async () => {
    const deployed = await slipway(['deploy', 'staging', '--app', 'cliscale', '--image', IMAGES.v1, '--health-path', '/healthz', '--health-interval', '200ms', ...data()], f.dataDir);
    assert.equal(deployed.code, 0, deployed.stderr);
    const res = await slipway(['scale', 'cliscale', '--env', 'staging', '2', ...data()], f.dataDir);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /^\d\d:\d\d:\d\d scaling revision 1 from 1 to 2 replicas/m);
    assert.match(res.stdout, /cliscale\/staging: 2 replicas of revision 1 serve \(scaled from 1 by carol\) at http:\/\/127\.0\.0\.1:\d+/);
    const again = await slipway(['scale', 'cliscale', '2', ...data()], f.dataDir);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /already 2 replicas of revision 1; nothing changed/);
    const history = await slipway(['history', 'cliscale', ...data()], f.dataDir);
    assert.equal(history.code, 0, history.stderr);
    assert.match(history.stdout, /^staging\s+1\s+\S+:v1\s+deploy by \S+/m);
    assert.match(history.stdout, /^staging\s+-\s+replicas 1 → 2\s+scale by carol\s+[\d-]+ [\d:]+\s+healthy/m);
    const json = await slipway(['scale', 'cliscale', '1', '--json', ...data()], f.dataDir);
    assert.equal(json.code, 0, json.stderr);
    const outcome = JSON.parse(json.stdout) as { outcome: string; event: { from: number; to: number; by: string } };
    assert.deepEqual([outcome.outcome, outcome.event.from, outcome.event.to, outcome.event.by], ['healthy', 2, 1, 'carol']);
  });

  it('exits 2 for bad input, a count outside the limit and an environment never deployed', async () => {
    for (const args of [['cliscale'], ['cliscale', 'many'], ['cliscale', '2.5'], ['cliscale', '1001'], ['cliscale', '-1'], ['cliscale', '1', '2']]) {
      const res = await slipway(['scale', ...args, ...data()], f.dataDir);
      assert.equal(res.code, 2, `${args.join(' ')}: ${res.stdout}${res.stderr}`);
      assert.match(res.stderr, /^slipway scale: /, args.join(' '));
    }
    assert.match((await slipway(['scale', 'cliscale', 'many', ...data()], f.dataDir)).stderr, /N is a whole number of replicas from 0 to 1000, not 'many'/);
    const never = await slipway(['scale', 'cliscale', '--env', 'production', '2', ...data()], f.dataDir);
    assert.equal(never.code, 2);
    assert.match(never.stderr, /has never been deployed by this agent|serves no revision/);
    const help = await slipway(['scale', '--help'], f.dataDir);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^usage: slipway scale APP \[--env ENV\] N/);
    assert.match((await slipway(['--help'], f.dataDir)).stdout, /^\s+scale\s+set the replica count/m);
  });
});
