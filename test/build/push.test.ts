// A build job with a registry configured pushes every tag and hands later jobs the pushed digest;
// with a token that may not push, the job fails saying so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
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

test('build.push sends the image to another registry with the password from a secret, masked in every line', async () => {
  const registry = await startRegistry();
  const repo = tempRepo({
    'Dockerfile': 'FROM busybox:latest\n',
    'slipway.yaml': `version: 1
name: external
secrets: [REG_TOKEN]
jobs:
  image:
    build:
      repository: app
      push: { registry: ${registry.host}/team, username: ci, passwordSecret: REG_TOKEN }
  show:
    needs: [image]
    image: \${{ jobs.image.image }}
    steps: [{ run: 'echo "token=$REG_TOKEN"' }]
`,
  });
  try {
    const result = await runCli(['run', '--secret', `REG_TOKEN=${ADMIN}`], { cwd: repo.dir, env: { SLIPWAY_HOME: repo.home } });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, new RegExp(`pushed ${registry.host.replace('.', '\\.')}/team/app@sha256:`));
    assert.match(result.stdout, /token=\*\*\*/);
    assert.ok(!result.stdout.includes(ADMIN), 'the secret never shows');
    const res = await fetch(`${registry.url}/v2/team/app/tags/list`, { headers: { Authorization: basic(ADMIN) } });
    assert.equal(res.status, 200);
    const missing = await runCli(['run'], { cwd: repo.dir, env: { SLIPWAY_HOME: repo.home } });
    assert.equal(missing.code, 1);
    assert.match(missing.stdout, /secret REG_TOKEN \(the password for .*\) has no value/);
    repo.write('slipway.yaml', readFileSync(`${repo.dir}/slipway.yaml`, 'utf8').replace('secrets: [REG_TOKEN]', 'secrets: [OTHER]'));
    const undeclared = await runCli(['validate'], { cwd: repo.dir, env: { SLIPWAY_HOME: repo.home } });
    assert.equal(undeclared.code, 2);
    assert.match(undeclared.stderr, /slipway\.yaml:\d+:\d+: .*secret 'REG_TOKEN', which is not listed under secrets:/);
  } finally {
    repo.remove();
    await registry.close();
  }
});
