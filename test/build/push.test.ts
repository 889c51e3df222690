// A build job with a registry configured pushes every tag and hands later jobs the pushed digest;
// with a token that may not push, the job fails saying so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli, tempRepo } from '../support/repo.js';
import { ADMIN, READER, basic, startRegistry } from '../registry/support.js';

const PIPELINE = `version: 1
name: pushed
jobs:
  image:
    build: { repository: team/pushed, tags: [latest] }
  smoke:
    needs: [image]
    image: \${{ jobs.image.image }}
    steps:
      - run: echo "ran \${{ jobs.image.image }} digest \${{ jobs.image.digest }}"
`;

test('a build job pushes to the configured registry and the next job runs the pushed digest', async () => {
  const registry = await startRegistry();
  const repo = tempRepo({ 'Dockerfile': 'FROM busybox:latest\nRUN echo pushed > /marker\n', 'slipway.yaml': PIPELINE });
  try {
    const result = await runCli(['run', '--registry', registry.host], {
      cwd: repo.dir,
      env: { SLIPWAY_HOME: repo.home, SLIPWAY_REGISTRY_TOKEN: ADMIN },
    });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const match = new RegExp(`ran ${registry.host.replace('.', '\\.')}/team/pushed@(sha256:[0-9a-f]{64}) digest (sha256:[0-9a-f]{64})`).exec(result.stdout);
    assert.ok(match, result.stdout);
    assert.equal(match[1], match[2]);
    for (const tag of ['latest']) {
      const res = await fetch(`${registry.url}/v2/team/pushed/manifests/${tag}`, {
        headers: { Authorization: basic(ADMIN), Accept: 'application/vnd.docker.distribution.manifest.v2+json' },
      });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('docker-content-digest'), match[1]);
    }
    const tags = (await (await fetch(`${registry.url}/v2/team/pushed/tags/list`, { headers: { Authorization: basic(ADMIN) } })).json()) as { tags: string[] };
    assert.equal(tags.tags.length, 2, 'the commit tag and latest');
  } finally {
    repo.remove();
    await registry.close();
  }
});

test('a push the token may not make fails the build job with the registry\'s answer', async () => {
  const registry = await startRegistry();
  const repo = tempRepo({ 'Dockerfile': 'FROM busybox:latest\n', 'slipway.yaml': PIPELINE });
  try {
    const result = await runCli(['run', '--registry', registry.host], {
      cwd: repo.dir,
      env: { SLIPWAY_HOME: repo.home, SLIPWAY_REGISTRY_TOKEN: READER },
    });
    assert.equal(result.code, 1);
    assert.match(result.stdout, /image\s+failure .*pushing .*team\/pushed.* failed/);
    assert.match(result.stdout, /smoke\s+skipped/);
  } finally {
    repo.remove();
    await registry.close();
  }
});
