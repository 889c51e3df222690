// The build: job kind against the real Docker engine, through BuildKit and through the classic
// builder: context from the workspace with .dockerignore applied, build args, OCI labels, tags,
// layer cache reuse, and the exact image handed to later jobs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Docker from 'dockerode';
import { runCli, tempRepo } from '../support/repo.js';

const docker = new Docker();

for (const builder of ['BuildKit', 'classic'] as const) {
  test(`a build job builds the workspace image and a later job runs exactly that image (${builder} builder), and a second run reuses its layers`, async () => {
    const repo = tempRepo({
      'Dockerfile': 'FROM busybox:latest\nARG VERSION=dev\nRUN echo "version $VERSION" > /version\nCOPY . /app/\nCMD ["sh"]\n',
      '.dockerignore': 'secret.txt\n*.log\n',
      'secret.txt': 'do not ship\n',
      'app.txt': 'shipped\n',
      'slipway.yaml': `version: 1
name: buildtest
jobs:
  image:
    build:
      repository: slipway-test/buildtest
      tags: [latest]
      args: { VERSION: "v-\${{ commit }}" }
  smoke:
    needs: [image]
    image: \${{ jobs.image.image }}
    steps:
      - run: cat /version && cat /app/app.txt && test ! -e /app/secret.txt && echo no-secret
      - run: echo "image=\${{ jobs.image.image }} tags=\${{ jobs.image.tags }}"
`,
    });
    try {
      repo.write('debug.log', 'ignored\n');
      const env = { SLIPWAY_HOME: repo.home, ...(builder === 'classic' ? { DOCKER_BUILDKIT: '0' } : {}) };
      const result = await runCli(['run'], { cwd: repo.dir, env });
      assert.equal(result.code, 0, result.stdout + result.stderr);
      assert.match(result.stdout, builder === 'BuildKit' ? /│ building with BuildKit/ : /│ building with the engine's classic builder/);
      const commit = /version v-([0-9a-f]{40})/.exec(result.stdout)?.[1];
      assert.ok(commit, result.stdout);
      assert.match(result.stdout, /│ shipped/);
      assert.match(result.stdout, /│ no-secret/);
      const imageId = /image=(sha256:[0-9a-f]{64})/.exec(result.stdout)?.[1];
      assert.ok(imageId, 'the smoke job saw the exact image ID');
      assert.match(result.stdout, new RegExp(`tags=${commit},latest`));
      const inspected = await docker.getImage(`slipway-test/buildtest:${commit}`).inspect();
      assert.equal(inspected.Id, imageId);
      assert.equal(inspected.Config.Labels?.['org.opencontainers.image.revision'], commit);
      assert.ok(inspected.Config.Labels?.['org.opencontainers.image.created']);
      assert.ok(inspected.RepoTags?.includes('slipway-test/buildtest:latest'));

      // the same commit again: the RUN layer comes from the engine's cache
      const again = await runCli(['run', '--job', 'image'], { cwd: repo.dir, env });
      assert.equal(again.code, 0, again.stdout + again.stderr);
      if (builder === 'BuildKit') {
        const step = /#(\d+) \[\d+\/\d+\] RUN echo "version v-/.exec(again.stdout)?.[1];
        assert.ok(step, again.stdout);
        assert.match(again.stdout, new RegExp(`#${step} CACHED`));
      } else {
        assert.match(again.stdout, /RUN echo "version \$VERSION"[^]*?Using cache/);
      }
      await docker.getImage(imageId!).remove({ force: true });
    } finally {
      repo.remove();
    }
  });
}

test('a failing Dockerfile fails the job with the engine\'s error and skips what needs it', async () => {
  const repo = tempRepo({
    'Dockerfile': 'FROM busybox:latest\nRUN echo about to fail && exit 7\n',
    'slipway.yaml': `version: 1
name: buildfail
jobs:
  image:
    build: { repository: slipway-test/buildfail }
  smoke:
    needs: [image]
    image: \${{ jobs.image.image }}
    steps: [{ run: "true" }]
`,
  });
  try {
    const result = await runCli(['run'], { cwd: repo.dir, env: { SLIPWAY_HOME: repo.home } });
    assert.equal(result.code, 1, result.stdout + result.stderr);
    // BuildKit numbers its steps (`#5 about to fail`); the classic builder prints output bare
    assert.match(result.stdout, /│ (#\d+ )?about to fail/);
    assert.match(result.stdout, /image\s+failure .*(returned a non-zero code: 7|exit code: 7)/);
    assert.match(result.stdout, /smoke\s+skipped .*needs image, which failed/);
  } finally {
    repo.remove();
  }
});

test('target builds one stage of a multi-stage Dockerfile, from a dockerfile at another path', async () => {
  const repo = tempRepo({
    'docker/app.Dockerfile': 'FROM busybox:latest AS tools\nRUN echo tools > /stage\nFROM tools AS release\nRUN echo release > /stage\n',
    'slipway.yaml': `version: 1
name: buildtarget
jobs:
  image:
    build: { repository: slipway-test/buildtarget, dockerfile: docker/app.Dockerfile, target: tools }
  check:
    needs: [image]
    image: \${{ jobs.image.image }}
    steps: [{ run: "echo stage=$(cat /stage)" }]
`,
  });
  try {
    const result = await runCli(['run'], { cwd: repo.dir, env: { SLIPWAY_HOME: repo.home } });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /│ stage=tools/);
    assert.doesNotMatch(result.stdout, /RUN echo release/, 'the release stage was not built');
  } finally {
    for (const image of await docker.listImages({ filters: { reference: ['slipway-test/buildtarget'] } })) await docker.getImage(image.Id).remove({ force: true });
    repo.remove();
  }
});

test('a missing Dockerfile is a clear error naming the path', async () => {
  const repo = tempRepo({
    'slipway.yaml': `version: 1
name: nodockerfile
jobs:
  image:
    build: { context: app, repository: slipway-test/none }
`,
  });
  try {
    const result = await runCli(['run'], { cwd: repo.dir, env: { SLIPWAY_HOME: repo.home } });
    assert.equal(result.code, 1);
    assert.match(result.stdout, /no Dockerfile in the build context 'app' \(looked for app\/Dockerfile/);
  } finally {
    repo.remove();
  }
});
