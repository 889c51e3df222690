// Pull-request runs on the real Docker engine: the steps see the pull request (SLIPWAY_PR_* and
// ${{ pr.* }}), a run of untrusted code skips the jobs that use a secret and releases nothing (no
// deploy, no push, no shared tag), and code under review deploys only to its own preview.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Docker from 'dockerode';
import { parsePipeline } from '../../src/spec/index.js';
import { executeRun, RunStorage, snapshotWorkspace, type RunEvent, type RunOptions, type RunResult, type Trigger } from '../../src/engine/index.js';
import { DockerExecutor } from '../../src/executors/index.js';
import { DockerImageBuilder } from '../../src/build/index.js';
import type { DeployRequest, DeployTarget } from '../../src/deploy/index.js';
import { tempRepo } from '../support/repo.js';

const docker = new Docker();
const PR: Trigger['pullRequest'] = { number: 7, base: 'main', head: 'feature/login', fork: true };

/** A deploy target that rolls nothing out and keeps what it was asked. */
function recordingTarget(requests: DeployRequest[]): DeployTarget {
  return {
    name: 'docker',
    deploy: async (request) => {
      requests.push(request);
      const config = { ...request.spec, image: request.image };
      const revision = { app: request.app, environment: request.environment, target: 'docker' as const, number: 1, image: request.image, config, trigger: request.trigger, createdAt: new Date().toISOString(), outcome: 'healthy' as const };
      return { revision, outcome: 'healthy' };
    },
    rollback: async () => {
      throw new Error('unused');
    },
    history: async () => [],
    status: async () => [],
    remove: async () => false,
    scale: async () => {
      throw new Error('unused');
    },
  };
}

interface Outcome {
  result: RunResult;
  lines: string[];
  reasons: Map<string, string | undefined>;
  outputs: Map<string, Record<string, string>>;
}

/** Runs `yaml` (committed in a fresh repository) as the engine would for the server, with `extra` options. */
async function runPipeline(yaml: string, trigger: Partial<Trigger>, extra: Partial<RunOptions> = {}, files: Record<string, string> = {}): Promise<Outcome> {
  const repo = tempRepo({ 'slipway.yaml': yaml, ...files });
  const { pipeline, diagnostics } = parsePipeline(yaml, 'slipway.yaml');
  assert.ok(pipeline, JSON.stringify(diagnostics));
  const runId = `pr-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const storage = new RunStorage(repo.home, runId);
  const lines: string[] = [];
  const reasons = new Map<string, string | undefined>();
  const outputs = new Map<string, Record<string, string>>();
  const onEvent = (event: RunEvent): void => {
    if (event.type === 'log') lines.push(`[${event.job}] ${event.line}`);
    if (event.type === 'job.status' && event.status !== 'running') reasons.set(event.job, `${event.status}${event.reason ? `: ${event.reason}` : ''}`);
    if (event.type === 'job.status' && event.outputs) outputs.set(event.job, event.outputs);
  };
  try {
    await storage.prepare();
    const source = await snapshotWorkspace(repo.dir, storage.sourceTarPath);
    const result = await executeRun({
      runId,
      pipeline,
      trigger: { event: 'pull_request', branch: 'feature/login', commit: source.commit, ...(PR ? { pullRequest: PR } : {}), ...trigger },
      source,
      executor: new DockerExecutor(docker),
      storage,
      secrets: {},
      envOverrides: {},
      concurrency: 2,
      signal: new AbortController().signal,
      onEvent,
      ...extra,
    });
    return { result, lines, reasons, outputs };
  } finally {
    await storage.cleanup();
    repo.remove();
  }
}

test('a pull-request run: steps see SLIPWAY_PR_* and ${{ pr.* }}, and event is pull_request', async () => {
  const { result, lines } = await runPipeline(
    `version: 1
name: prtest
on:
  pull_request: { branches: [main] }
jobs:
  show:
    image: busybox:latest
    steps:
      - run: echo "env=$SLIPWAY_PR_NUMBER:$SLIPWAY_PR_BASE_BRANCH:$SLIPWAY_PR_HEAD_BRANCH event=$SLIPWAY_EVENT"
      - run: echo "expr=\${{ pr.number }}:\${{ pr.base }}:\${{ pr.head }} event=\${{ event }}"
`,
    {},
  );
  assert.equal(result.status, 'success', lines.join('\n'));
  assert.ok(lines.includes('[show] env=7:main:feature/login event=pull_request'), lines.join('\n'));
  assert.ok(lines.includes('[show] expr=7:main:feature/login event=pull_request'), lines.join('\n'));
});

test('outside a pull request the pr.* expressions are empty and SLIPWAY_PR_* unset', async () => {
  const { result, lines } = await runPipeline(
    `version: 1
name: pushtest
jobs:
  show:
    image: busybox:latest
    steps:
      - run: echo "expr=[\${{ pr.number }}] env=[\${SLIPWAY_PR_NUMBER-unset}]"
`,
    { event: 'push', branch: 'main', pullRequest: undefined },
  );
  assert.equal(result.status, 'success', lines.join('\n'));
  assert.ok(lines.includes('[show] expr=[] env=[unset]'), lines.join('\n'));
});

test('untrusted secrets: a job that uses a secret is skipped with the reason, a job without one runs with no secret at all', async () => {
  const { result, lines, reasons } = await runPipeline(
    `version: 1
name: forktest
secrets: [API_TOKEN]
jobs:
  test:
    image: busybox:latest
    steps:
      # names no secret, so it runs; it must find none in its environment
      - run: echo "secret variables=$(env | grep -c '^API_' || true)"
  publish:
    image: busybox:latest
    steps:
      - run: echo "publishing with $API_TOKEN"
  notify:
    image: busybox:latest
    env: { AUTH: "\${{ secrets.API_TOKEN }}" }
    steps:
      - run: echo notify
`,
    {},
    // what the server hands a fork's run: the values are withheld there too, but the engine must not rely on it
    { secrets: { API_TOKEN: 'leaked-if-seen' }, untrusted: { secrets: 'pull request #7 comes from a fork: its code is not the project’s' } },
  );
  assert.equal(result.status, 'success', lines.join('\n'));
  assert.ok(lines.includes('[test] secret variables=0'), lines.join('\n'));
  assert.equal(reasons.get('test'), 'success');
  assert.equal(reasons.get('publish'), 'skipped: it uses secret API_TOKEN, and pull request #7 comes from a fork: its code is not the project’s');
  assert.equal(reasons.get('notify'), 'skipped: it uses secret API_TOKEN, and pull request #7 comes from a fork: its code is not the project’s');
  assert.ok(!lines.some((line) => line.includes('leaked-if-seen')));
});

test('untrusted release: deploy jobs are skipped with the reason; a build builds, is not pushed and takes no shared tag', async () => {
  const requests: DeployRequest[] = [];
  const tag = `t${Date.now().toString(36)}`;
  const repository = 'slipway-test/prbuild';
  const { result, lines, reasons, outputs } = await runPipeline(
    `version: 1
name: releasetest
jobs:
  image:
    build: { repository: ${repository}, tags: [${tag}] }
  smoke:
    needs: [image]
    image: \${{ jobs.image.image }}
    steps: [{ run: echo smoke-ran }]
  preview:
    needs: [image]
    deploy: { environment: "pr-\${{ pr.number }}", image: "\${{ jobs.image.image }}", port: 80 }
`,
    {},
    {
      builder: new DockerImageBuilder(docker),
      // a registry nobody listens on: a push would fail the job
      registry: { host: '127.0.0.1:9' },
      deployTargets: async () => recordingTarget(requests),
      untrusted: { release: 'pull request #7 comes from a fork: its code is not the project’s' },
    },
    { Dockerfile: 'FROM busybox:latest\nCMD ["sh"]\n' },
  );
  try {
    assert.equal(result.status, 'success', lines.join('\n'));
    assert.equal(reasons.get('preview'), 'skipped: deploys are off in this run: pull request #7 comes from a fork: its code is not the project’s');
    assert.equal(requests.length, 0);
    assert.ok(lines.some((line) => line.startsWith('[image] not pushed, and tagged only with its commit: pull request #7 comes from a fork')), lines.join('\n'));
    assert.match(outputs.get('image')?.image ?? '', /^sha256:/, 'the output is the local image, not a registry reference');
    assert.ok(lines.includes('[smoke] smoke-ran'), 'a later job runs the built image');
    await assert.rejects(docker.getImage(`${repository}:${tag}`).inspect(), 'the extra tag was not applied');
  } finally {
    const id = outputs.get('image')?.image;
    if (id) await docker.getImage(id).remove({ force: true }).catch(() => undefined);
  }
});

test('a pull-request run deploys only to its own preview: a fixed environment is skipped, pr-${{ pr.number }} is marked as the preview', async () => {
  const requests: DeployRequest[] = [];
  const yaml = `version: 1
name: previewtest
jobs:
  staging:
    deploy: { environment: staging, image: busybox:latest, port: 80 }
  preview:
    deploy: { environment: "pr-\${{ pr.number }}", image: busybox:latest, port: 80, ttl: 24h }
`;
  const pr = await runPipeline(yaml, {}, { deployTargets: async () => recordingTarget(requests) });
  assert.equal(pr.result.status, 'success', pr.lines.join('\n'));
  assert.equal(pr.reasons.get('staging'), 'skipped: a pull-request run deploys only to its own preview environment (e.g. environment: pr-${{ pr.number }})');
  assert.equal(pr.reasons.get('preview'), 'success');
  assert.deepEqual(
    requests.map((r) => ({ environment: r.environment, spec: r.spec.environment, preview: r.preview })),
    [{ environment: 'pr-7', spec: 'pr-7', preview: { pullRequest: 7, ttlMs: 24 * 3_600_000 } }],
  );
  assert.equal(pr.outputs.get('preview')?.environment, 'pr-7');

  requests.length = 0;
  const push = await runPipeline(yaml, { event: 'push', branch: 'main', pullRequest: undefined }, { deployTargets: async () => recordingTarget(requests) });
  assert.equal(push.reasons.get('staging'), 'success');
  assert.equal(push.reasons.get('preview'), "skipped: environment pr-${{ pr.number }} is a pull request's preview: it is deployed only in pull-request runs");
  assert.deepEqual(requests.map((r) => [r.environment, r.preview]), [['staging', undefined]]);
});
