// The rules of pull-request and untrusted runs, job by job: which are skipped and with what reason,
// the preview environment's name, and the variables the steps get. (On Docker: test/engine/.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePipeline, type DeployJob, type Job } from '../spec/index.js';
import { pullRequestEnv, pullRequestSkipReason, resolvePreviewJob } from './pull-requests.js';

const FILE = `version: 1
name: app
secrets: [PUSH_PASSWORD, API_TOKEN]
jobs:
  image:
    build: { repository: app, push: { registry: ghcr.io/acme, passwordSecret: PUSH_PASSWORD } }
  lint:
    image: busybox
    steps: [{ run: echo lint }]
  e2e:
    image: busybox
    steps: [{ run: "curl -H \\"auth: $API_TOKEN\\" x" }]
  staging:
    deploy: { environment: staging, image: app, port: 80 }
  preview:
    deploy: { environment: "pr-\${{ pr.number }}", image: app, port: 80 }
`;

const jobs = new Map<string, Job>((parsePipeline(FILE, 'slipway.yaml').pipeline?.jobs ?? []).map((job) => [job.name, job]));
const job = (name: string): Job => {
  const found = jobs.get(name);
  assert.ok(found, name);
  return found;
};
const pr = { event: 'pull_request', pullRequest: { number: 7, base: 'main', head: 'feat', fork: true } };
const push = { event: 'push' };
const fork = 'pull request #7 comes from a fork: its code is not the project’s';

test('a trusted pull-request run: only fixed-environment deploys are skipped; a push run skips only the preview', () => {
  const skipped = (trigger: typeof pr | typeof push): Record<string, string | undefined> =>
    Object.fromEntries([...jobs.keys()].map((name) => [name, pullRequestSkipReason(job(name), trigger, undefined)]));
  assert.deepEqual(skipped(pr), {
    image: undefined,
    lint: undefined,
    e2e: undefined,
    staging: 'a pull-request run deploys only to its own preview environment (e.g. environment: pr-${{ pr.number }})',
    preview: undefined,
  });
  assert.deepEqual(skipped(push), {
    image: undefined,
    lint: undefined,
    e2e: undefined,
    staging: undefined,
    preview: "environment pr-${{ pr.number }} is a pull request's preview: it is deployed only in pull-request runs",
  });
});

test('untrusted: jobs that use a secret are skipped; a build that will not push needs no push password', () => {
  assert.equal(pullRequestSkipReason(job('e2e'), pr, { secrets: fork }), `it uses secret API_TOKEN, and ${fork}`);
  assert.equal(pullRequestSkipReason(job('lint'), pr, { secrets: fork }), undefined);
  assert.equal(pullRequestSkipReason(job('image'), pr, { secrets: fork }), `it uses secret PUSH_PASSWORD, and ${fork}`);
  assert.equal(pullRequestSkipReason(job('image'), pr, { secrets: fork, release: fork }), undefined, 'it builds without pushing');
  assert.equal(pullRequestSkipReason(job('preview'), pr, { secrets: fork, release: fork }), `deploys are off in this run: ${fork}`);
});

test('a preview job takes its pull request’s environment name; a pull-request run that does not say which one skips it', () => {
  const resolved = resolvePreviewJob(job('preview'), pr) as DeployJob;
  assert.equal(resolved.deploy.environment, 'pr-7');
  assert.equal((job('preview') as DeployJob).deploy.environment, 'pr-${{ pr.number }}', 'the pipeline itself is left as it was');
  assert.equal(resolvePreviewJob(job('staging'), pr), job('staging'));
  assert.equal(
    pullRequestSkipReason(job('preview'), { event: 'pull_request' }, undefined),
    'the run does not say which pull request it tests, so its preview environment has no name',
  );
});

test('SLIPWAY_PR_* only in a pull-request run', () => {
  assert.deepEqual(pullRequestEnv(pr), { SLIPWAY_PR_NUMBER: '7', SLIPWAY_PR_BASE_BRANCH: 'main', SLIPWAY_PR_HEAD_BRANCH: 'feat' });
  assert.deepEqual(pullRequestEnv(push), {});
});
