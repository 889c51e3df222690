import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BuildJob, DeployJob, StepsJob } from './model.js';
import { evaluateCondition, isBranchTriggered, isTagTriggered, parsePipeline, renderTemplate } from './index.js';

// The contract's own example (product.md §1), verbatim but for comments.
const CONTRACT_EXAMPLE = `version: 1
name: hello-web
on:
  push: { branches: [main, "release/*"] }
env: { GREETING: hello }
secrets: [API_TOKEN]
jobs:
  test:
    image: busybox:latest
    services:
      redis: { image: redis:7, health: { cmd: "redis-cli ping" } }
    steps:
      - name: unit tests
        run: ./test.sh
    cache: { key: package-lock.json, paths: [node_modules] }
    artifacts: [dist/]
    timeout: 10m
    retry: 1
  image:
    needs: [test]
    build:
      context: .
      dockerfile: Dockerfile
      repository: hello-web
      tags: [latest]
      args: { VERSION: "\${SLIPWAY_COMMIT_SHA}" }
  smoke:
    needs: [image]
    image: \${{ jobs.image.image }}
    steps:
      - run: /app/selftest
  deploy:
    needs: [smoke]
    if: \${{ branch == 'main' }}
    deploy:
      environment: production
      target: docker
      image: \${{ jobs.image.image }}
      replicas: 3
      port: 8080
      publish: 18080
      health: { path: /healthz, interval: 1s, timeout: 2s, healthy: 2, unhealthy: 3 }
      strategy: { maxSurge: 1, maxUnavailable: 0, progressDeadline: 60s, autoRollback: true }
      kubernetes: { namespace: web, manifests: k8s/ }
`;

const ctx = { branch: 'main', event: 'push', commit: 'abc', env: {}, jobs: { image: { result: 'success' as const, image: 'r/hello-web@sha256:9' } } };

test("the contract's example loads into the typed Pipeline", () => {
  const { pipeline, diagnostics } = parsePipeline(CONTRACT_EXAMPLE, 'slipway.yaml');
  assert.deepEqual(diagnostics, []);
  assert.ok(pipeline);
  assert.equal(pipeline.name, 'hello-web');
  assert.equal(pipeline.file, 'slipway.yaml');
  assert.deepEqual(pipeline.triggers, { push: { branches: ['main', 'release/*'] } });
  assert.deepEqual(pipeline.secrets, ['API_TOKEN']);
  assert.equal(pipeline.env.GREETING?.source, 'hello');
  assert.deepEqual(pipeline.jobs.map((j) => [j.name, j.kind]), [['test', 'steps'], ['image', 'build'], ['smoke', 'steps'], ['deploy', 'deploy']]);

  const test = pipeline.jobs[0] as StepsJob;
  assert.deepEqual(test.position, { file: 'slipway.yaml', line: 8, col: 3 });
  assert.equal(test.timeoutMs, 600_000);
  assert.equal(test.retry, 1);
  assert.equal(test.when, 'auto');
  assert.equal(test.image.source, 'busybox:latest');
  assert.equal(test.image.isLiteral, true);
  assert.deepEqual(test.services.map((s) => [s.name, s.image.source, s.health]), [['redis', 'redis:7', { cmd: 'redis-cli ping', intervalMs: 1000, timeoutMs: 5000, retries: 30 }]]);
  assert.equal(test.steps[0]?.name, 'unit tests');
  assert.deepEqual(test.steps[0]?.position, { file: 'slipway.yaml', line: 13, col: 9 });
  assert.deepEqual(test.cache, { keyFiles: ['package-lock.json'], paths: ['node_modules'] });
  assert.deepEqual(test.artifacts, ['dist/']);

  const image = pipeline.jobs[1] as BuildJob;
  assert.deepEqual(image.needs, ['test']);
  assert.equal(image.timeoutMs, 3_600_000, 'default timeout 60m');
  assert.equal(image.retry, 0);
  assert.deepEqual({ ...image.build, args: undefined }, { context: '.', dockerfile: 'Dockerfile', repository: 'hello-web', tags: ['latest'], args: undefined });
  assert.equal(image.build.args.VERSION?.source, '${SLIPWAY_COMMIT_SHA}', 'shell variables are not expressions');
  assert.equal(image.build.args.VERSION?.isLiteral, true);

  const smoke = pipeline.jobs[2] as StepsJob;
  assert.equal(smoke.image.isLiteral, false);
  assert.equal(renderTemplate(smoke.image, ctx), 'r/hello-web@sha256:9');
  assert.equal(smoke.steps[0]?.name, '/app/selftest');

  const deploy = pipeline.jobs[3] as DeployJob;
  assert.ok(deploy.if);
  assert.equal(evaluateCondition(deploy.if, ctx), true);
  assert.equal(evaluateCondition(deploy.if, { ...ctx, branch: 'dev' }), false);
  assert.deepEqual({ ...deploy.deploy, image: undefined }, {
    environment: 'production',
    target: 'docker',
    image: undefined,
    replicas: 3,
    port: 8080,
    publish: 18080,
    health: { path: '/healthz', intervalMs: 1000, timeoutMs: 2000, healthy: 2, unhealthy: 3, startPeriodMs: 0 },
    strategy: { maxSurge: 1, maxUnavailable: 0, progressDeadlineMs: 60_000, autoRollback: true },
    kubernetes: { namespace: 'web', manifests: 'k8s/' },
  });
  assert.deepEqual(deploy.deploy.image.position, { file: 'slipway.yaml', line: 38, col: 14 });
});

test('defaults: a minimal file gets every default of the contract', () => {
  const { pipeline, diagnostics } = parsePipeline(
    `version: 1
name: app
jobs:
  test:
    image: node:20
    steps:
      - run: |

          npm ci && npm test -- --reporter=spec --coverage --this-line-is-longer-than-sixty-characters
        env: { CI: true, N: 3 }
  web:
    needs: test
    when: manual
    deploy: { environment: staging, image: app, port: 80, target: kubernetes }
`,
    'p.yaml',
  );
  assert.deepEqual(diagnostics, []);
  assert.ok(pipeline);
  assert.deepEqual(pipeline.triggers, { push: {} }, 'no on: every push');
  assert.deepEqual(pipeline.env, {});
  assert.deepEqual(pipeline.secrets, []);
  const test = pipeline.jobs[0] as StepsJob;
  assert.equal(test.steps[0]?.name, 'npm ci && npm test -- --reporter=spec --coverage --this-lin…');
  assert.equal(test.steps[0]?.name.length, 60);
  assert.equal(test.steps[0]?.env.CI?.source, 'true', 'scalar env values are taken as text');
  assert.equal(test.steps[0]?.env.N?.source, '3');
  assert.deepEqual(test.services, []);
  assert.equal(test.cache, undefined);
  const web = pipeline.jobs[1] as DeployJob;
  assert.deepEqual(web.needs, ['test'], 'needs: one name');
  assert.equal(web.when, 'manual');
  assert.deepEqual({ ...web.deploy, image: undefined }, {
    environment: 'staging',
    target: 'kubernetes',
    image: undefined,
    replicas: 1,
    port: 80,
    health: { tcp: true, intervalMs: 1000, timeoutMs: 5000, healthy: 2, unhealthy: 3, startPeriodMs: 0 },
    strategy: { maxSurge: 1, maxUnavailable: 0, progressDeadlineMs: 60_000, autoRollback: true },
    kubernetes: { namespace: 'default' },
  });
});

test('triggers: branch and tag globs, on: {} for manual runs only', () => {
  const load = (on: string) => {
    const result = parsePipeline(`version: 1\nname: app\n${on}\njobs:\n  b:\n    build: { repository: app }\n`, 's.yaml');
    assert.ok(result.pipeline, JSON.stringify(result.diagnostics));
    return result.pipeline;
  };
  const globs = load('on:\n  push:\n    branches: [main, "release/*"]\n    tags: ["v*"]');
  assert.equal(isBranchTriggered(globs, 'main'), true);
  assert.equal(isBranchTriggered(globs, 'release/1.2'), true);
  assert.equal(isBranchTriggered(globs, 'release/1.2/x'), false);
  assert.equal(isBranchTriggered(globs, 'feature/x'), false);
  assert.equal(isTagTriggered(globs, 'v1.0.0'), true);
  assert.equal(isTagTriggered(globs, 'nightly'), false);
  const every = load('on:\n  push:');
  assert.equal(isBranchTriggered(every, 'anything/at/all'), true);
  assert.equal(isTagTriggered(every, 'v1'), false, 'tags only when listed');
  const manual = load('on: {}');
  assert.equal(isBranchTriggered(manual, 'main'), false);
});

test('an invalid file gives no pipeline and every problem, in file order', () => {
  const { pipeline, diagnostics } = parsePipeline('version: 1\nname: app\njobs:\n  a:\n    stpes: []\n    retry: 99\n', 'x.yaml');
  assert.equal(pipeline, undefined);
  assert.deepEqual(diagnostics.map((d) => `${d.line}:${d.col} ${d.code}`), ['5:5 SPEC_UNKNOWN_KEY', '6:12 SPEC_VALUE']);
});

// A guard against quadratic work, not a benchmark (timings on a shared machine are noisy; the
// cold CLI figure is measured separately): 8× the jobs must cost far less than the 64× of quadratic work.
test('validation time grows linearly with the number of jobs', () => {
  const pipelineOf = (count: number): string => {
    const jobs = Array.from({ length: count }, (_, i) =>
      `  job${i}:\n    needs: [${i > 0 ? `job${i - 1}` : ''}]\n    image: \${{ env.IMAGE }}\n    if: branch == 'job${i}'\n    steps:\n      - run: echo ${i}\n      - run: make test\n`,
    ).join('');
    return `version: 1\nname: big\nenv: { IMAGE: node:20 }\njobs:\n${jobs}`;
  };
  const fastest = (text: string, jobs: number): number => {
    let best = Infinity;
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      const result = parsePipeline(text, 'big.yaml');
      best = Math.min(best, performance.now() - started);
      assert.equal(result.pipeline?.jobs.length, jobs);
    }
    return best;
  };
  const small = pipelineOf(100);
  const large = pipelineOf(800);
  fastest(small, 100); // warm-up
  const ratio = fastest(large, 800) / fastest(small, 100);
  assert.ok(ratio < 30, `800 jobs took ${ratio.toFixed(1)}× the time of 100`);
});

test('a deploy to a protected environment is manual without when: manual; approval.timeout is read', () => {
  const { pipeline, diagnostics } = parsePipeline(`version: 1
name: gated
environments:
  production: { protected: true }
  staging: {}
jobs:
  staging:
    deploy: { environment: staging, image: app:1, port: 80 }
  production:
    needs: [staging]
    approval: { timeout: 72h }
    deploy: { environment: production, image: app:1, port: 80 }
  asked:
    when: manual
    image: busybox:latest
    steps: [{ run: "true" }]
`, 'slipway.yaml');
  assert.deepEqual(diagnostics, []);
  const byName = Object.fromEntries((pipeline?.jobs ?? []).map((j) => [j.name, j]));
  assert.equal(byName.staging?.when, 'auto');
  assert.equal(byName.production?.when, 'manual', 'protected: a person approves');
  assert.equal(byName.production?.approvalTimeoutMs, 72 * 3_600_000);
  assert.equal(byName.asked?.when, 'manual');
  assert.deepEqual(pipeline?.environments, { production: { protected: true }, staging: { protected: false } });
});

test('bad environment rules and approval blocks are positioned errors', () => {
  const { pipeline, diagnostics } = parsePipeline(`version: 1
name: gated
environments:
  Prod_1: { protected: true }
  qa: { protected: "yes", reviewers: 2 }
jobs:
  ship:
    when: manual
    approval: { timeout: soon, after: 1h }
    image: busybox:latest
    steps: [{ run: "true" }]
`, 'slipway.yaml');
  assert.equal(pipeline, undefined);
  const seen = diagnostics.map((d) => `${d.line}:${d.col} ${d.code}`);
  assert.deepEqual(seen, ['4:3 SPEC_NAME', '5:20 SPEC_TYPE', '5:27 SPEC_UNKNOWN_KEY', '9:26 SPEC_DURATION', '9:32 SPEC_UNKNOWN_KEY']);
});
