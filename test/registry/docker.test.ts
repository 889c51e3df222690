// The real docker client against the registry: login with a Slipway token, push, remove, pull
// by tag and by digest, a multi-layer image, and a read-only token that cannot push.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildMultiLayerImage, ok, removeImages, run } from './clients.js';
import { ADMIN, READER, startRegistry, type TestRegistry } from './support.js';

let reg: TestRegistry;
let dockerConfig: string;
const created: string[] = [];
const multiLayer = `slipway-registry-test/multilayer:${process.pid}`;

async function docker(args: string[], input?: string): Promise<string> {
  return ok('docker', ['--config', dockerConfig, ...args], input === undefined ? {} : { input });
}

before(async () => {
  reg = await startRegistry();
  // a private client config: the tests' logins never touch the user's ~/.docker
  dockerConfig = await mkdtemp(path.join(os.tmpdir(), 'slipway-docker-config-'));
  await buildMultiLayerImage(multiLayer);
  created.push(multiLayer);
  await docker(['login', reg.host, '-u', 'ci', '--password-stdin'], ADMIN);
});

after(async () => {
  await removeImages(created);
  await rm(dockerConfig, { recursive: true, force: true });
  await reg.close();
});

function repoDigest(inspectJson: string, repo: string): string {
  const digests = JSON.parse(inspectJson) as string[];
  const found = digests.find((d) => d.startsWith(`${repo}@`));
  assert.ok(found, `no repo digest for ${repo} in ${inspectJson}`);
  return found;
}

describe('docker client', () => {
  test('docker login, push busybox, rmi, pull by tag and by digest', async () => {
    const ref = `${reg.host}/docker/busybox:1`;
    await docker(['tag', 'busybox:latest', ref]);
    created.push(ref);
    await docker(['push', ref]);
    const byDigest = repoDigest(await docker(['image', 'inspect', '--format', '{{json .RepoDigests}}', ref]), `${reg.host}/docker/busybox`);
    await docker(['rmi', ref]);
    await docker(['pull', ref]);
    await docker(['rmi', ref]);
    await docker(['pull', byDigest]);
    created.push(byDigest);
    const id = (await docker(['image', 'inspect', '--format', '{{.Id}}', byDigest])).trim();
    const original = (await docker(['image', 'inspect', '--format', '{{.Id}}', 'busybox:latest'])).trim();
    assert.equal(id, original);
  });

  test('a multi-layer image round-trips: same layers, same content, runnable', async () => {
    const ref = `${reg.host}/docker/multi:v1`;
    await docker(['tag', multiLayer, ref]);
    created.push(ref);
    await docker(['push', ref]);
    const layersBefore = await docker(['image', 'inspect', '--format', '{{json .RootFS.Layers}}', ref]);
    const digest = repoDigest(await docker(['image', 'inspect', '--format', '{{json .RepoDigests}}', ref]), `${reg.host}/docker/multi`);
    await docker(['rmi', ref]);
    await docker(['pull', digest]);
    created.push(digest);
    assert.equal(await docker(['image', 'inspect', '--format', '{{json .RootFS.Layers}}', digest]), layersBefore);
    assert.equal(JSON.parse(layersBefore).length, 4);
    const sizes = await docker(['run', '--rm', digest, 'sh', '-c', 'wc -c < /layer1; wc -c < /layer3']);
    assert.deepEqual(sizes.trim().split(/\s+/), ['300000', '100000']);
  });

  test('pushing the same layers to a second repository reuses them (cross-repository mount)', async () => {
    const ref = `${reg.host}/docker/multi-copy:v1`;
    await docker(['tag', multiLayer, ref]);
    created.push(ref);
    const out = await docker(['push', ref]);
    // docker says "Mounted from docker/multi" for layers it mounted instead of uploading
    assert.match(out, /Mounted from docker\/multi|Layer already exists/);
  });

  test('a read-only token logs in and pulls but cannot push', async () => {
    const readOnlyConfig = await mkdtemp(path.join(os.tmpdir(), 'slipway-docker-config-ro-'));
    try {
      await ok('docker', ['--config', readOnlyConfig, 'login', reg.host, '-u', 'viewer', '--password-stdin'], { input: READER });
      const ref = `${reg.host}/docker/readonly:v1`;
      await docker(['tag', 'busybox:latest', ref]);
      created.push(ref);
      const push = await run('docker', ['--config', readOnlyConfig, 'push', ref]);
      assert.notEqual(push.code, 0);
      assert.match(push.stderr + push.stdout, /denied|unauthorized|insufficient/i);
      const wrong = await run('docker', ['--config', readOnlyConfig, 'login', reg.host, '-u', 'x', '--password-stdin'], { input: 'not-a-token' });
      assert.notEqual(wrong.code, 0);
    } finally {
      await rm(readOnlyConfig, { recursive: true, force: true });
    }
  });
});
