// What the spec knows of pull requests beyond `on`: the pr.* and secrets.* expressions, the
// secrets each job uses (secretsUsed, for runs that have none to give), and preview environments.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DeployJob, ExpressionContext, Pipeline, StepsJob } from './model.js';
import { evaluateCondition, parsePipeline, previewEnvironmentName, renderTemplate } from './index.js';

function load(text: string): Pipeline {
  const { pipeline, diagnostics } = parsePipeline(text, 'slipway.yaml');
  assert.deepEqual(diagnostics, []);
  assert.ok(pipeline);
  return pipeline;
}

function problems(text: string): string[] {
  return parsePipeline(text, 'slipway.yaml').diagnostics.map((d) => `${d.line}:${d.col} ${d.severity} ${d.code} ${d.message}`);
}

const base: ExpressionContext = { branch: 'feature/x', event: 'pull_request', commit: 'abc', env: {}, jobs: {} };

test('pr.number, pr.base and pr.head render in a pull-request run and are empty strings in other runs', () => {
  const p = load(`version: 1
name: app
env: { PR: "\${{ pr.number }}" }
jobs:
  test:
    if: pr.number != ''
    image: busybox
    steps: [{ run: "echo #\${{ pr.number }} \${{ pr.head }} into \${{ pr.base }}" }]
`);
  const job = p.jobs[0] as StepsJob;
  const run = job.steps[0]!.run;
  const inPullRequest = { ...base, pr: { number: 7, base: 'main', head: 'feature/x' } };
  assert.equal(renderTemplate(run, inPullRequest), 'echo #7 feature/x into main');
  assert.equal(renderTemplate(p.env.PR!, inPullRequest), '7');
  assert.equal(evaluateCondition(job.if!, inPullRequest), true);
  const push = { ...base, event: 'push' };
  assert.equal(renderTemplate(run, push), 'echo #  into ');
  assert.equal(evaluateCondition(job.if!, push), false);
  assert.equal(evaluateCondition({ ...job.if!, source: "pr.number == ''" }, push), true);
});

test('pr.* mistakes are errors at their column, with a did-you-mean', () => {
  assert.deepEqual(
    problems(`version: 1
name: app
jobs:
  test:
    image: busybox
    steps:
      - run: echo \${{ pr.nmber }} \${{ pr }} \${{ pr.base.name }}
`),
    [
      "7:26 error SPEC_EXPRESSION unknown field 'pr.nmber' (did you mean 'pr.number'?); a pull request has number, base, head",
      "7:41 error SPEC_EXPRESSION 'pr' needs a field: pr.number, pr.base, pr.head",
      "7:57 error SPEC_EXPRESSION pr.base is a string and has no '.name'",
    ],
  );
});

test('secrets.NAME renders the value in env values and steps’ run; a secret not listed under secrets: is an error', () => {
  const p = load(`version: 1
name: app
secrets: [API_TOKEN]
env: { TOKEN: "\${{ secrets.API_TOKEN }}" }
jobs:
  test:
    image: busybox
    services:
      db: { image: postgres, env: { PASSWORD: "\${{ secrets.API_TOKEN }}" } }
    steps: [{ run: "login \${{ secrets.API_TOKEN }}", env: { T: "\${{ secrets.API_TOKEN }}" } }]
`);
  const ctx = { ...base, secrets: { API_TOKEN: 's3cret' } };
  assert.equal(renderTemplate(p.env.TOKEN!, ctx), 's3cret');
  assert.equal(renderTemplate((p.jobs[0] as StepsJob).steps[0]!.run, ctx), 'login s3cret');
  assert.equal(renderTemplate((p.jobs[0] as StepsJob).steps[0]!.run, base), 'login ', 'a run without the secret renders it empty');
  assert.deepEqual(problems('version: 1\nname: app\nsecrets: [API_TOKEN]\nenv: { A: "${{ secrets.API_TOKN }}" }\njobs:\n  t: { image: x, steps: [{ run: x }] }\n'), [
    "4:24 error SPEC_EXPRESSION secret 'API_TOKN' is not listed under secrets: (did you mean 'API_TOKEN'?); add it there (its value comes from the server or --secret)",
  ]);
});

test('secrets cannot be read in conditions, images or build arguments: there a value is not masked, or is kept in the image', () => {
  assert.deepEqual(
    problems(`version: 1
name: app
secrets: [T]
jobs:
  a:
    if: secrets.T != ''
    image: "reg/\${{ secrets.T }}"
    steps: [{ run: x }]
  b:
    build: { repository: b, args: { V: "\${{ secrets.T }}" } }
`),
    [
      "6:9 error SPEC_EXPRESSION a condition cannot read secrets: a secret is read only in env values and steps' run, where its value reaches the job's processes and is masked in their logs",
      "7:21 error SPEC_EXPRESSION this value cannot read secrets: a secret is read only in env values and steps' run, where its value reaches the job's processes and is masked in their logs",
      "10:45 error SPEC_EXPRESSION this value cannot read secrets: a secret is read only in env values and steps' run, where its value reaches the job's processes and is masked in their logs",
    ],
  );
});

test('secretsUsed: what each job reads, through expressions, inherited pipeline env, $NAME in scripts and a push password', () => {
  const p = load(`version: 1
name: app
secrets: [API_TOKEN, DB_PASSWORD, NPM_TOKEN, PUSH_PASSWORD, UNUSED]
env:
  TOKEN: "\${{ secrets.API_TOKEN }}"
  AUTH: "Bearer \${{ env.TOKEN }}"
  PLAIN: hello
jobs:
  lint:
    image: busybox
    steps: [{ run: echo lint }]
  publish:
    image: node:20
    services:
      db: { image: postgres, env: { POSTGRES_PASSWORD: "\${{ secrets.DB_PASSWORD }}" } }
    steps: [{ run: "npm publish --token \${NPM_TOKEN}" }]
  image:
    build:
      repository: app
      args: { V: "\${{ env.PLAIN }}" }
      push: { registry: ghcr.io/acme, passwordSecret: PUSH_PASSWORD }
  image2:
    build: { repository: app2, args: { V: "\${{ env.AUTH }}" } }
  ship:
    deploy: { environment: staging, image: "\${{ env.PLAIN }}", port: 80 }
  matrix:
    image: busybox
    matrix: { n: [1, 2] }
    env: { X: "\${{ secrets.UNUSED }}" }
    steps: [{ run: "echo $NPM_TOKENS $$" }]
`);
  const used = Object.fromEntries(p.jobs.map((j) => [j.name, j.secretsUsed]));
  assert.deepEqual(used, {
    // a steps job's containers get the whole pipeline env, so TOKEN (and AUTH, made from it) carry API_TOKEN in
    lint: ['API_TOKEN'],
    publish: ['API_TOKEN', 'DB_PASSWORD', 'NPM_TOKEN'],
    image: ['PUSH_PASSWORD'],
    image2: ['API_TOKEN'],
    ship: [],
    'matrix (n=1)': ['API_TOKEN', 'UNUSED'],
    'matrix (n=2)': ['API_TOKEN', 'UNUSED'],
  });
});

test('a preview environment: environment holds ${{ pr.number }}, the deploy carries preview.ttlMs (default 168h)', () => {
  const p = load(`version: 1
name: app
jobs:
  preview:
    deploy: { environment: "pr-\${{ pr.number }}", image: app, port: 80 }
  short:
    deploy: { environment: "review-\${{pr.number}}-web", image: app, port: 80, ttl: 48h }
  staging:
    deploy: { environment: staging, image: app, port: 80 }
`);
  const [preview, short, staging] = p.jobs as DeployJob[];
  assert.equal(preview!.deploy.environment, 'pr-${{ pr.number }}');
  assert.deepEqual(preview!.deploy.preview, { ttlMs: 168 * 3_600_000 });
  assert.deepEqual(short!.deploy.preview, { ttlMs: 48 * 3_600_000 });
  assert.equal(previewEnvironmentName(short!.deploy.environment, 12), 'review-12-web');
  assert.equal(staging!.deploy.preview, undefined);
});

test('an environment may hold no other expression, must make a valid name, and ttl without a preview is ignored', () => {
  assert.deepEqual(
    problems(`version: 1
name: app
jobs:
  a:
    deploy: { environment: "pr-\${{ pr.head }}", image: app, port: 80 }
  b:
    deploy: { environment: "PR-\${{ pr.number }}", image: app, port: 80 }
  c:
    deploy: { environment: "pr-\${{ pr.number", image: app, port: 80 }
  d:
    deploy: { environment: staging, image: app, port: 80, ttl: 1h }
  e:
    deploy: { environment: Staging, image: app, port: 80 }
`),
    [
      "5:36 error SPEC_EXPRESSION 'environment' in 'deploy' of job 'a': an environment name may hold only ${{ pr.number }} (a preview environment per pull request, e.g. pr-${{ pr.number }}), not ${{ pr.head }}",
      "7:28 error SPEC_VALUE 'environment' in 'deploy' of job 'b' must be an environment name (lower-case letters, digits, -) with ${{ pr.number }} in it, not 'PR-${{ pr.number }}'",
      "9:32 error SPEC_EXPRESSION 'environment' in 'deploy' of job 'c': '${{' is never closed: add '}}'",
      "11:59 warning SPEC_IGNORED 'ttl' of job 'd' applies only to a preview environment (environment: pr-${{ pr.number }}); 'staging' stays until it is removed",
      "13:28 error SPEC_VALUE 'environment' in 'deploy' of job 'e' must be an environment name (lower-case letters, digits, -), not 'Staging'",
    ],
  );
});
