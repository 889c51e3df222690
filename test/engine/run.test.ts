// `slipway run` against the real Docker engine and real git: the DAG, services, cache, artifacts,
// secrets, environment and job selection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli, tempRepo } from '../support/repo.js';

const PIPELINE = `version: 1
name: demo
env: { GREETING: hello, WHO: file }
secrets: [API_TOKEN]
jobs:
  prepare:
    image: busybox:latest
    steps:
      - name: make dist
        run: mkdir -p dist && echo "built from $(cat input.txt)" > dist/out.txt
      - run: echo "untracked=$(cat untracked.txt)"
    artifacts: [dist/]
  lint:
    image: busybox:latest
    env: { WHO: job }
    steps:
      - name: env
        run: echo "greeting=$GREETING who=$WHO branch=$SLIPWAY_BRANCH sha=$SLIPWAY_COMMIT_SHA project=$SLIPWAY_PROJECT"
      - name: ignored files stay out
        run: test ! -e ignored.log
  test:
    needs: [prepare, lint]
    image: busybox:latest
    steps:
      - name: read artifact
        run: cat dist/out.txt
      - name: secret
        run: echo "token is $API_TOKEN"
      - name: expression
        run: echo "on \${{ branch }} commit \${{ commit }}"
`;

test('slipway run passes a DAG of jobs: artifacts, env precedence, secrets masked, workspace from the work tree', async () => {
  const repo = tempRepo({ 'slipway.yaml': PIPELINE, 'input.txt': 'the input\n', '.gitignore': 'ignored.log\n' });
  try {
    repo.write('untracked.txt', 'yes');
    repo.write('ignored.log', 'no');
    const result = await runCli(['run', '--secret', 'API_TOKEN=s3cr3t-t0ken'], { cwd: repo.dir, env: { SLIPWAY_HOME: repo.home } });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const out = result.stdout;
    assert.match(out, /\[test\] │ built from the input/);
    assert.match(out, /\[prepare\] │ untracked=yes/);
    assert.match(out, /greeting=hello who=job branch=main sha=[0-9a-f]{40} project=demo/);
    assert.match(out, /token is \*\*\*/);
    assert.doesNotMatch(out, /s3cr3t-t0ken/);
    assert.match(out, /on main commit [0-9a-f]{40}/);
    assert.match(out, /Run \S+ success/);
    // independent jobs start before either finishes
    const startOf = (job: string): number => out.indexOf(`[${job}] ● running`);
    const endOf = (job: string): number => out.indexOf(`[${job}] ✔ success`);
    assert.ok(startOf('lint') < endOf('prepare') && startOf('prepare') < endOf('lint'), 'prepare and lint ran concurrently');
    assert.ok(startOf('test') > endOf('prepare') && startOf('test') > endOf('lint'), 'test waited for its needs');
  } finally {
    repo.remove();
  }
});

test('--env overrides the file, --job runs a job with the jobs it needs only', async () => {
  const repo = tempRepo({ 'slipway.yaml': PIPELINE, 'input.txt': 'x\n' });
  try {
    const result = await runCli(['run', '--job', 'lint', '--env', 'WHO=cli', '--env', 'GREETING=hi'], {
      cwd: repo.dir,
      env: { SLIPWAY_HOME: repo.home },
    });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /greeting=hi who=cli/);
    assert.doesNotMatch(result.stdout, /\[prepare\]/);
    assert.doesNotMatch(result.stdout, /\[test\]/);
  } finally {
    repo.remove();
  }
});

test('services start first, health-waited, and are reachable by name; then removed', async () => {
  const repo = tempRepo({
    'slipway.yaml': `version: 1
name: with-services
jobs:
  integration:
    image: busybox:latest
    services:
      web:
        image: busybox:latest
        command: [sh, -c, "mkdir -p /www && echo served-by-web > /www/index.html && httpd -f -p 8080 -h /www"]
        health: { cmd: "wget -q -O- http://127.0.0.1:8080/", interval: 200ms, retries: 50 }
    steps:
      - run: wget -q -O- http://web:8080/
`,
  });
  try {
    const result = await runCli(['run'], { cwd: repo.dir, env: { SLIPWAY_HOME: repo.home } });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /service web is healthy/);
    assert.match(result.stdout, /│ served-by-web/);
  } finally {
    repo.remove();
  }
});

test('a cache is saved after success and restored by the next run while its key files are unchanged', async () => {
  const repo = tempRepo({
    'slipway.yaml': `version: 1
name: cached
jobs:
  deps:
    image: busybox:latest
    cache: { key: lock.txt, paths: [vendor] }
    steps:
      - run: if [ -f vendor/stamp ]; then echo "restored $(cat vendor/stamp)"; else mkdir -p vendor && echo fresh-$SLIPWAY_RUN_ID > vendor/stamp && echo installed; fi
`,
    'lock.txt': 'v1\n',
  });
  try {
    const env = { SLIPWAY_HOME: repo.home };
    const first = await runCli(['run'], { cwd: repo.dir, env });
    assert.equal(first.code, 0, first.stdout + first.stderr);
    assert.match(first.stdout, /cache miss/);
    assert.match(first.stdout, /│ installed/);
    const second = await runCli(['run'], { cwd: repo.dir, env });
    assert.equal(second.code, 0, second.stdout + second.stderr);
    assert.match(second.stdout, /cache hit/);
    assert.match(second.stdout, /│ restored fresh-/);
    repo.write('lock.txt', 'v2\n');
    const third = await runCli(['run'], { cwd: repo.dir, env });
    assert.match(third.stdout, /cache miss/);
  } finally {
    repo.remove();
  }
});
