// Removing an environment of the docker target (a pull request's preview when it closes): its
// replicas and proxy go, its history stays, and a later deploy brings it back.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildImages, containersOf, deployRequest, fixture, get, IMAGES, proxyPort, testSpec, type Fixture } from './support.js';

let f: Fixture;
const app = 'preview';
const spec = testSpec({ environment: 'pr-7', replicas: 2 });

before(async () => {
  [f] = await Promise.all([fixture(), buildImages()]);
});
after(async () => {
  await f?.cleanup();
});

test('removing an environment stops its replicas and proxy and keeps its revision history; a deploy brings it back', { timeout: 120_000 }, async () => {
  const first = await f.target.deploy(deployRequest(app, IMAGES.v1, spec));
  assert.equal(first.outcome, 'healthy', first.reason);
  const port = await proxyPort(f.target, app, 'pr-7');
  assert.match((await get(port)).body, /v1/);
  assert.equal((await containersOf(f.dataDir)).length, 2);

  assert.equal(await f.target.remove(app, 'pr-7'), true);
  assert.deepEqual(await containersOf(f.dataDir), [], 'no replica is left');
  assert.deepEqual(await f.target.status(app, 'pr-7'), [], 'status no longer lists it');
  await assert.rejects(get(port), 'the proxy no longer answers');
  assert.deepEqual((await f.target.history(app, 'pr-7')).map((r) => r.number), [1], 'the history stays');
  assert.equal(await f.target.remove(app, 'pr-7'), false, 'removing it again removes nothing');

  const again = await f.target.deploy(deployRequest(app, IMAGES.v2, spec));
  assert.equal(again.outcome, 'healthy', again.reason);
  assert.equal(again.revision.number, 2);
  assert.match((await get(await proxyPort(f.target, app, 'pr-7'))).body, /v2/);
});
