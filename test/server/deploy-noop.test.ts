// Through the server's API, a deploy of what the environment already runs is a rollout that ends
// `unchanged`: it says so, adds no revision to the target's history or the store's (DORA does not
// count it), and `force: true` rolls it out anyway.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { testServer, type TestServer } from './support.js';
import { buildImages, IMAGES } from '../deploy-docker/support.js';

type Rollout = {
  id: string;
  status: string;
  endpoint?: string;
  outcome?: { outcome: string; revision: { number: number; digest?: string } };
  lines: Array<{ line: string }>;
};
type ErrorBody = { error: { code: string; fields?: Array<{ field: string; message: string }> } };

const BODY = { image: IMAGES.v1, replicas: 1, port: 8080, health: { path: '/healthz', interval: '200ms', healthy: 1, unhealthy: 2 }, strategy: { progressDeadline: '20s' } };

describe('the deploy API and a deploy that changes nothing', { timeout: 240_000 }, () => {
  let server: TestServer;
  before(async () => {
    [server] = await Promise.all([testServer(), buildImages()]);
  });
  after(async () => {
    await server?.stop();
  });

  const deploy = async (body: object): Promise<Rollout> => {
    const started = await server.api<Rollout>('/api/apps/noop/environments/staging/deploy', { method: 'POST', body });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    return server.rolloutEnded<Rollout>(started.body.id);
  };
  const revisions = async (): Promise<number[]> =>
    (await server.api<{ revisions: Array<{ number: number }> }>('/api/apps/noop/environments/staging/revisions')).body.revisions.map((r) => r.number);
  const deployments = async (): Promise<number> => (await server.api<{ deployments: number }>('/api/dora?environment=staging&days=1')).body.deployments;

  it('a second identical deploy ends unchanged with the current revision, records nothing, and force: true rolls out revision 2', async () => {
    const first = await deploy(BODY);
    assert.equal(first.status, 'healthy', JSON.stringify(first));
    assert.ok(first.outcome?.revision.digest?.startsWith('sha256:'), 'the revision carries its digest');
    assert.equal(await deployments(), 1);

    const again = await deploy(BODY);
    assert.equal(again.status, 'unchanged', JSON.stringify(again));
    assert.deepEqual([again.outcome?.outcome, again.outcome?.revision.number], ['unchanged', 1]);
    assert.match(again.endpoint ?? '', /^http:\/\/127\.0\.0\.1:\d+$/, 'it still says where the environment serves');
    assert.ok(again.lines.some((l) => /revision 1 already runs this image and config; nothing to do/.test(l.line)), JSON.stringify(again.lines));
    assert.deepEqual(await revisions(), [1]);
    assert.equal(await deployments(), 1, 'a no-op is not a deployment');

    const forced = await deploy({ ...BODY, force: true });
    assert.equal(forced.status, 'healthy', JSON.stringify(forced));
    assert.equal(forced.outcome?.revision.number, 2);
    assert.deepEqual(await revisions(), [1, 2]);
    assert.equal(await deployments(), 2);
  });

  it('force must be a boolean: anything else is a 422 naming the field, before anything changes', async () => {
    const res = await server.api<ErrorBody>('/api/apps/noop/environments/staging/deploy', { method: 'POST', body: { ...BODY, force: 'yes' } });
    assert.equal(res.status, 422, JSON.stringify(res.body));
    assert.equal(res.body.error.code, 'ROLLOUT_INVALID');
    assert.ok(res.body.error.fields?.some((f) => f.field === 'force'), JSON.stringify(res.body));
    assert.deepEqual(await revisions(), [1, 2]);
  });
});
