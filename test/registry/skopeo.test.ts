// Debian's skopeo against the registry: copy from the Docker engine, copy between repositories
// (mount), inspect by tag and digest, delete, and copy of a multi-platform OCI index.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ok, run } from './clients.js';
import { ADMIN, call, OCI_INDEX, pushImage, sha256, startRegistry, type TestRegistry } from './support.js';

let reg: TestRegistry;
const creds = `ci:${ADMIN}`;

before(async () => {
  reg = await startRegistry();
});
after(async () => {
  await reg.close();
});

async function skopeo(args: string[]): Promise<string> {
  return ok('skopeo', args);
}

describe('skopeo', () => {
  test('copy from the Docker engine, copy to another repository, inspect by tag and digest, delete', async () => {
    await skopeo(['copy', '--dest-tls-verify=false', '--dest-creds', creds, 'docker-daemon:busybox:latest', `docker://${reg.host}/sk/busybox:1`]);
    const raw = await skopeo(['inspect', '--raw', '--tls-verify=false', '--creds', creds, `docker://${reg.host}/sk/busybox:1`]);
    const digest = sha256(raw);
    const manifest = JSON.parse(raw) as { layers: Array<{ digest: string }> };

    await skopeo(['copy', '--src-tls-verify=false', '--dest-tls-verify=false', '--src-creds', creds, '--dest-creds', creds, `docker://${reg.host}/sk/busybox:1`, `docker://${reg.host}/sk/copy:1`]);
    for (const layer of manifest.layers) {
      assert.equal((await call(reg, 'HEAD', `/v2/sk/copy/blobs/${layer.digest}`)).status, 200);
    }
    const inspect = JSON.parse(await skopeo(['inspect', '--tls-verify=false', '--creds', creds, `docker://${reg.host}/sk/copy@${digest}`])) as { Digest: string; RepoTags: string[] };
    assert.equal(inspect.Digest, digest);
    assert.deepEqual(inspect.RepoTags, ['1']);

    await skopeo(['delete', '--tls-verify=false', '--creds', creds, `docker://${reg.host}/sk/copy:1`]);
    const gone = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', '--creds', creds, `docker://${reg.host}/sk/copy:1`]);
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /manifest unknown/);
    // the source repository still has it
    await skopeo(['inspect', '--raw', '--tls-verify=false', '--creds', creds, `docker://${reg.host}/sk/busybox@${digest}`]);
  });

  test('copy --all of a multi-platform OCI index keeps the index and every child', async () => {
    const amd = await pushImage(reg, 'sk/multi', 'amd64');
    const arm = await pushImage(reg, 'sk/multi', 'arm64');
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: amd.digest, size: amd.size, platform: { architecture: 'amd64', os: 'linux' } },
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: arm.digest, size: arm.size, platform: { architecture: 'arm64', os: 'linux' } },
      ],
    });
    assert.equal((await call(reg, 'PUT', '/v2/sk/multi/manifests/latest', { body: index, headers: { 'content-type': OCI_INDEX } })).status, 201);
    await skopeo([
      'copy', '--all', '--preserve-digests', '--src-tls-verify=false', '--dest-tls-verify=false', '--src-creds', creds, '--dest-creds', creds,
      `docker://${reg.host}/sk/multi:latest`, `docker://${reg.host}/sk/multi-copy:latest`,
    ]);
    const copied = await skopeo(['inspect', '--raw', '--tls-verify=false', '--creds', creds, `docker://${reg.host}/sk/multi-copy:latest`]);
    assert.equal(sha256(copied), sha256(index));
    for (const child of [amd, arm]) {
      const res = await call(reg, 'GET', `/v2/sk/multi-copy/manifests/${child.digest}`);
      assert.equal(res.status, 200);
      await res.arrayBuffer();
    }
  });
});
