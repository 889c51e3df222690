// Pull request runs end to end, with GitHub's own payloads (@octokit/webhooks-examples) pointed at a
// loopback forge that serves the pull request refs: the run tests the head commit and reports its
// status there, a newer push supersedes the older run, closing cancels, a fork's run has no
// secrets, and `git push slipway HEAD:refs/for/main` opens one with no forge at all.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { execFile } from 'node:child_process';
import http from 'node:http';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { eventually } from '../support/wait.js';
import { forgeRepository, testServer, tempRepo, type TestServer } from './support.js';
import path from 'node:path';
import { buildImages, containersOf, IMAGES } from '../deploy-docker/support.js';

const exec = promisify(execFile);
const require = createRequire(import.meta.url);
const examples = require('@octokit/webhooks-examples') as Array<{ name: string; examples: Array<Record<string, unknown> & { action: string }> }>;
const SECRET = 'pull-request-secret';
const TOKEN = 'abcdefghijkl';

const pipeline = (sleepSeconds: number, cancelInProgress = true): string =>
  `version: 1\nname: prs\non:\n  push: { branches: ["**"] }\n  pull_request: { branches: [main]${cancelInProgress ? '' : ', cancel-in-progress: false'} }\n` +
  `secrets: [TOKEN]\njobs:\n  check:\n    image: busybox:latest\n    steps:\n      - run: 'echo "token length \${#TOKEN}"; sleep ${sleepSeconds}'\n`;

let server: TestServer;
let forge: Awaited<ReturnType<typeof forgeRepository>>;
let statusApi: http.Server;
type ForgeStatus = { url: string; state: string; description: string; context?: string; target_url?: string; receivedAt: number };
const statuses: ForgeStatus[] = [];
const answered = new Map<ForgeStatus, number>();
const repo = tempRepo({ 'slipway.yaml': pipeline(0) });

type RunView = { id: string; number: number; status: string; reason?: string; trigger: { event: string; branch: string; commit: string; pullRequest?: { number: number; base: string; head: string; fork: boolean; url?: string; title?: string } } };

before(async () => {
  server = await testServer({ concurrency: 3 });
  await server.push(repo, 'prs');
  assert.equal((await server.waitForRun('prs', 1)).status, 'success');
  forge = await forgeRepository(repo, 'prs');
  statusApi = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const parsed = JSON.parse(body) as { state: string; description: string; context?: string; target_url?: string };
      const status = { url: req.url ?? '', ...parsed, receivedAt: Date.now() };
      statuses.push(status);
      // a slow forge: the report of a run's wait for approval is answered 1.5 s later
      const delay = parsed.description.includes('waiting for approval') ? 1500 : 0;
      setTimeout(() => {
        res.writeHead(201, { 'Content-Type': 'application/json' }).end('{}');
        answered.set(status, Date.now());
      }, delay);
    });
  });
  await new Promise<void>((resolve) => statusApi.listen(0, '127.0.0.1', resolve));
  const apiUrl = `http://127.0.0.1:${(statusApi.address() as { port: number }).port}`;
  assert.equal((await server.api('/api/projects/prs/webhook-secret', { method: 'PUT', body: { secret: SECRET } })).status, 200);
  // the status API's host (127.0.0.1) is the forge's: the loopback forge's clone URL is on it
  assert.equal((await server.api('/api/projects/prs/commit-status', { method: 'PUT', body: { provider: 'github', token: 'forge-token', apiUrl } })).status, 200);
  assert.equal((await server.api('/api/projects/prs/secrets/TOKEN', { method: 'PUT', body: { value: TOKEN } })).status, 200);
});

after(async () => {
  await server.stop();
  await forge.close();
  statusApi.close();
  repo.remove();
});

/** A commit on its own branch whose pipeline sleeps this long, pushed to the forge as pull request `number`'s head. */
async function pullRequestHead(number: number, sleepSeconds: number, cancelInProgress = true, text = pipeline(sleepSeconds, cancelInProgress)): Promise<string> {
  await exec('git', ['checkout', '-q', '-B', `pr-${number}`, 'main'], { cwd: repo.dir });
  repo.write('slipway.yaml', text);
  repo.write('change.txt', `pull request ${number} at ${Date.now()} ${Math.random()}\n`);
  repo.commit(`change for #${number}`);
  const sha = (await exec('git', ['rev-parse', 'HEAD'], { cwd: repo.dir })).stdout.trim();
  await exec('git', ['checkout', '-q', 'main'], { cwd: repo.dir });
  await forge.pushRef(sha, `refs/pull/${number}/head`);
  return sha;
}

/** GitHub's example delivery of `action`, about pull request `number` at `sha` of the loopback forge. */
function githubDelivery(action: string, number: number, sha: string, options: { fork?: boolean } = {}): Record<string, unknown> {
  const example = structuredClone(examples.find((e) => e.name === 'pull_request')!.examples.find((e) => e.action === action)!);
  const pr = example.pull_request as { number: number; head: Record<string, unknown> & { repo: Record<string, unknown> }; base: Record<string, unknown> & { repo: Record<string, unknown> } };
  const repository = example.repository as Record<string, unknown>;
  const page = forge.url.replace(/\.git$/, '');
  example.number = number;
  pr.number = number;
  pr.head.sha = sha;
  pr.head.ref = `pr-${number}`;
  pr.base.ref = 'main';
  for (const repo of [repository, pr.base.repo, pr.head.repo]) Object.assign(repo, { name: 'prs', full_name: 'team/prs', clone_url: forge.url, html_url: page });
  if (options.fork) Object.assign(pr.head.repo, { full_name: 'mallory/prs', clone_url: 'http://127.0.0.1:9/mallory/prs.git' });
  return example;
}

async function deliver(payload: Record<string, unknown>): Promise<{ status: number; body: { runs?: string[]; message?: string } }> {
  const body = JSON.stringify(payload);
  const res = await fetch(`${server.url}/hooks/github/prs`, {
    method: 'POST',
    headers: { 'X-GitHub-Event': 'pull_request', 'X-GitHub-Delivery': `d-${Math.random()}`, 'X-Hub-Signature-256': `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}` },
    body,
  });
  return { status: res.status, body: (await res.json()) as { runs?: string[]; message?: string } };
}

async function runWhen(id: string, what: string, ok: (run: RunView) => boolean, timeoutMs = 120_000): Promise<RunView> {
  return eventually(`run ${id} ${what}`, async () => {
    const { body } = await server.api<RunView>(`/api/runs/${id}`);
    return ok(body) && body;
  }, timeoutMs, 100);
}
const ended = (id: string): Promise<RunView> => runWhen(id, 'to end', (r) => !['queued', 'running', 'waiting'].includes(r.status));
const logOf = async (id: string): Promise<string> => (await server.api<{ lines: Array<{ line: string }> }>(`/api/runs/${id}/logs`)).body.lines.map((l) => l.line).join('\n');

test('a pull request opened runs its head commit as event pull_request and reports the status on that commit, naming the pull request', async () => {
  const sha = await pullRequestHead(7, 0);
  const answer = await deliver(githubDelivery('opened', 7, sha));
  assert.equal(answer.status, 202, JSON.stringify(answer.body));
  const run = await ended(answer.body.runs![0]!);
  assert.equal(run.status, 'success', run.reason);
  assert.equal(run.trigger.event, 'pull_request');
  assert.equal(run.trigger.commit, sha);
  assert.equal(run.trigger.branch, 'pr-7');
  assert.deepEqual(run.trigger.pullRequest, { number: 7, base: 'main', head: 'pr-7', fork: false, url: 'https://github.com/Codertocat/Hello-World/pull/2', title: 'Update the README with new information.' });
  const onHead = statuses.filter((s) => s.url === `/repos/team/prs/statuses/${sha}`);
  assert.deepEqual(onHead.map((s) => s.state), ['pending', 'success']);
  assert.ok(onHead.every((s) => /pull request #7/.test(s.description)), JSON.stringify(onHead));
  assert.match(await logOf(run.id), new RegExp(`token length ${TOKEN.length}`), 'a same-repository pull request gets the secrets by default');
  const listed = await server.api<{ runs: RunView[] }>('/api/runs?project=prs&event=pull_request');
  assert.ok(listed.body.runs.some((r) => r.id === run.id));
});

test('a manual job approved the moment its run parks runs in a whole workspace, and the forge hears of it in order', async () => {
  const gated =
    'version: 1\nname: prs\non:\n  pull_request: { branches: [main] }\njobs:\n  check:\n    image: busybox:latest\n    steps: [{ run: cat change.txt }]\n' +
    '  ship:\n    needs: [check]\n    when: manual\n    image: busybox:latest\n    steps: [{ run: cat change.txt slipway.yaml > /dev/null && echo shipping }]\n';
  const sha = await pullRequestHead(9, 0, true, gated);
  const id = (await deliver(githubDelivery('opened', 9, sha))).body.runs![0]!;
  await runWhen(id, 'to wait', (r) => r.status === 'waiting');
  // approved the moment the run waits: it may go on at once, but never before the slow forge has
  // answered "waiting for approval", or the forge could be left showing the wait while it runs
  assert.equal((await server.api(`/api/runs/${id}/jobs/ship/approve`, { method: 'POST' })).status, 200);
  const run = await ended(id);
  const detail = (await server.api<{ jobs: Array<{ name: string; status: string; reason?: string }> }>(`/api/runs/${id}`)).body;
  assert.equal(run.status, 'success', `${run.reason ?? ''} ${JSON.stringify(detail.jobs)}`);
  assert.match(await logOf(id), /shipping/);
  const onHead = statuses.filter((s) => s.url === `/repos/team/prs/statuses/${sha}`);
  assert.deepEqual(onHead.map((s) => `${s.state} ${s.description.replace(/^.*?: /, '')}`), ['pending running', 'pending waiting for approval: ship', 'pending running', 'success passed']);
  const waited = answered.get(onHead[1]!);
  assert.ok(waited !== undefined && onHead[2]!.receivedAt >= waited, 'the resumed run reports only once the wait was reported');
});

test('a newer push to a pull request cancels its older run that is still going', async () => {
  const first = await pullRequestHead(8, 120);
  const older = (await deliver(githubDelivery('opened', 8, first))).body.runs![0]!;
  await runWhen(older, 'to run', (r) => r.status === 'running');
  const second = await pullRequestHead(8, 0);
  const answer = await deliver(githubDelivery('synchronize', 8, second));
  assert.equal(answer.status, 202);
  const newer = await ended(answer.body.runs![0]!);
  assert.equal(newer.status, 'success', newer.reason);
  const superseded = await ended(older);
  assert.equal(superseded.status, 'cancelled');
  assert.equal(superseded.reason, `superseded by run #${newer.number} (a newer push to pull request #8)`);
});

test('closing a pull request cancels its runs still going', async () => {
  const sha = await pullRequestHead(9, 120);
  const id = (await deliver(githubDelivery('opened', 9, sha))).body.runs![0]!;
  await runWhen(id, 'to run', (r) => r.status === 'running');
  const answer = await deliver(githubDelivery('closed', 9, sha));
  assert.equal(answer.status, 200);
  assert.match(answer.body.message ?? '', /pull request #9 was (closed|merged); 1 of its runs cancelled/);
  const run = await ended(id);
  assert.equal(run.status, 'cancelled');
  assert.equal(run.reason, 'pull request #9 was closed');
});

test("a fork's pull request run gets no secrets and says so; same-repository ones do not either when the project says never", async () => {
  const sha = await pullRequestHead(10, 0);
  const fork = await ended((await deliver(githubDelivery('opened', 10, sha, { fork: true }))).body.runs![0]!);
  assert.equal(fork.status, 'success', fork.reason);
  assert.equal(fork.trigger.pullRequest?.fork, true);
  const forkLog = await logOf(fork.id);
  assert.match(forkLog, /token length 0/);
  assert.match(forkLog, /no secrets are passed \(pull request #10 comes from a fork/);
  assert.match(forkLog, /deploy jobs are skipped/);

  assert.equal((await server.api('/api/projects/prs/pull-requests', { method: 'PUT', body: { secrets: 'sometimes' } })).status, 422);
  assert.equal((await server.api('/api/projects/prs/pull-requests', { method: 'PUT', body: { secrets: 'never' } })).status, 200);
  assert.equal((await server.api<{ pullRequestSecrets: string }>('/api/projects/prs')).body.pullRequestSecrets, 'never');
  try {
    const own = await ended((await deliver(githubDelivery('reopened', 11, await pullRequestHead(11, 0)))).body.runs![0]!);
    assert.equal(own.trigger.pullRequest?.fork, false);
    const ownLog = await logOf(own.id);
    assert.match(ownLog, /token length 0/);
    assert.match(ownLog, /pullRequestSecrets: never/);
    assert.doesNotMatch(ownLog, /deploy jobs are skipped/, 'only a fork is kept from deploying');
  } finally {
    await server.api('/api/projects/prs/pull-requests', { method: 'PUT', body: { secrets: 'same-repository' } });
  }
});

test('with cancel-in-progress: false a newer push leaves the older run to finish', async () => {
  const first = await pullRequestHead(13, 8, false);
  const older = (await deliver(githubDelivery('opened', 13, first))).body.runs![0]!;
  await runWhen(older, 'to run', (r) => r.status === 'running');
  const newer = (await deliver(githubDelivery('synchronize', 13, await pullRequestHead(13, 0, false)))).body.runs![0]!;
  assert.equal((await ended(newer)).status, 'success');
  const kept = await ended(older);
  assert.equal(kept.status, 'success', kept.reason);
});

test('a pull request into a branch on.pull_request does not name ends cancelled with the reason', async () => {
  const sha = await pullRequestHead(12, 0);
  const payload = githubDelivery('opened', 12, sha);
  ((payload.pull_request as { base: Record<string, unknown> }).base).ref = 'release';
  const run = await ended((await deliver(payload)).body.runs![0]!);
  assert.equal(run.status, 'cancelled');
  assert.equal(run.reason, 'on.pull_request does not ask for pull requests into release');
});

test('git push HEAD:refs/for/main opens a pull request run against main; a topic keeps its number and a newer push supersedes', async () => {
  const remote = `${server.url.replace('http://', `http://t:${server.token}@`)}/git/prs.git`;
  const push = async (refspec: string): Promise<string> => (await exec('git', ['push', remote, refspec], { cwd: repo.dir })).stderr;
  await exec('git', ['checkout', '-q', '-B', 'review', 'main'], { cwd: repo.dir });
  repo.write('review.txt', 'one\n');
  repo.commit('review: first');
  const said = await push('HEAD:refs/for/main');
  const queued = /slipway: pull request #(\d+) into main: run #(\d+) queued: \S+\/api\/runs\/(\S+)/.exec(said);
  assert.ok(queued, said);
  const run = await ended(queued[3]!);
  assert.equal(run.status, 'success', run.reason);
  const sha = (await exec('git', ['rev-parse', 'HEAD'], { cwd: repo.dir })).stdout.trim();
  assert.equal(run.trigger.event, 'pull_request');
  assert.equal(run.trigger.commit, sha);
  assert.deepEqual(run.trigger.pullRequest, { number: Number(queued[1]), base: 'main', head: `change-${queued[1]}`, fork: false, title: 'review: first' });
  const refs = (await exec('git', ['ls-remote', remote], { cwd: repo.dir })).stdout;
  assert.match(refs, new RegExp(`^${sha}\\s+refs/pull/${queued[1]}/head$`, 'm'), 'the commit is kept as the pull request ref');
  assert.doesNotMatch(refs, /refs\/for\//, 'no branch was made');
  assert.doesNotMatch(refs, new RegExp(`^${sha}\\s+refs/heads/`, 'm'));

  repo.write('slipway.yaml', pipeline(120));
  repo.commit('review: slow');
  const slow = /pull request #(\d+) into main: run #\d+ queued: \S+\/api\/runs\/(\S+)/.exec(await push('HEAD:refs/for/main%topic=speed'));
  assert.ok(slow);
  assert.equal(Number(slow[1]), Number(queued[1]) + 1, 'a new number per push');
  await runWhen(slow[2]!, 'to run', (r) => r.status === 'running');
  repo.write('slipway.yaml', pipeline(0));
  repo.commit('review: fast again');
  const again = /pull request #(\d+) into main: run #(\d+) queued: \S+\/api\/runs\/(\S+)/.exec(await push('HEAD:refs/for/main%topic=speed'));
  assert.ok(again);
  assert.equal(again[1], slow[1], 'the same topic is the same pull request');
  assert.equal((await ended(again[3]!)).status, 'success');
  const superseded = await ended(slow[2]!);
  assert.equal(superseded.status, 'cancelled');
  assert.equal(superseded.reason, `superseded by run #${again[2]} (a newer push to pull request #${slow[1]})`);

  const refused = await push('HEAD:refs/for/-x');
  assert.match(refused, /refs\/for\/-x: nothing to run \('-x' is not a branch name\)/);
  assert.doesNotMatch((await exec('git', ['ls-remote', remote], { cwd: repo.dir })).stdout, /refs\/for\//);
  await exec('git', ['checkout', '-q', 'main'], { cwd: repo.dir });
});

test("a pull request's deploy job rolls out its own preview environment, and closing the pull request takes it down", { timeout: 240_000 }, async () => {
  await buildImages();
  await exec('git', ['checkout', '-q', '-B', 'pr-12', 'main'], { cwd: repo.dir });
  repo.write(
    'slipway.yaml',
    `version: 1\nname: prs\non:\n  pull_request: { branches: [main] }\njobs:\n  preview:\n    deploy:\n      environment: pr-\${{ pr.number }}\n      image: ${IMAGES.v1}\n      port: 8080\n      health: { path: /healthz, interval: 200ms }\n  staging:\n    deploy: { environment: staging, image: ${IMAGES.v1}, port: 8080 }\n`,
  );
  repo.commit('a preview for #12');
  const sha = (await exec('git', ['rev-parse', 'HEAD'], { cwd: repo.dir })).stdout.trim();
  await exec('git', ['checkout', '-q', 'main'], { cwd: repo.dir });
  await forge.pushRef(sha, 'refs/pull/12/head');

  const run = await ended((await deliver(githubDelivery('opened', 12, sha))).body.runs![0]!);
  assert.equal(run.status, 'success', run.reason);
  const detail = await server.api<{ jobs: Array<{ name: string; status: string; reason?: string }> }>(`/api/runs/${run.id}`);
  const staging = detail.body.jobs.find((j) => j.name === 'staging');
  assert.equal(staging?.status, 'skipped');
  assert.match(staging?.reason ?? '', /deploys only to its own preview environment/);
  const [preview] = (await server.api<{ environments: Array<{ environment: string; endpoint?: string; replicas: { ready: number } }> }>('/api/status?environment=pr-12')).body.environments;
  assert.equal(preview?.replicas.ready, 1);
  assert.match(await (await fetch(preview!.endpoint!)).text(), /v1/);
  const check = statuses.find((st) => st.url === `/repos/team/prs/statuses/${sha}` && st.context === 'slipway/preview');
  assert.equal(check?.target_url, preview!.endpoint, 'the forge links the preview as a check of its own');
  assert.match(check?.description ?? '', /preview pr-12 at http/);
  assert.match(await logOf(run.id), new RegExp(`preview of pull request #12: ${preview!.endpoint!.replace(/[.]/g, '\\.')}`));

  const closed = await deliver(githubDelivery('closed', 12, sha));
  assert.equal(closed.status, 200, JSON.stringify(closed.body));
  await eventually('the preview taken down', async () => (await server.api<{ environments: unknown[] }>('/api/status?environment=pr-12')).body.environments.length === 0, 60_000, 200);
  await assert.rejects(fetch(preview!.endpoint!), 'its proxy no longer answers');
  const left = (await containersOf(path.join(server.data, 'deploy'))).filter((c) => c.name.includes('pr-12'));
  assert.deepEqual(left, [], 'its replicas are gone');
  const history = await server.api<{ revisions: Array<{ number: number }> }>('/api/apps/prs/environments/pr-12/revisions');
  assert.deepEqual(history.body.revisions.map((r) => r.number), [1], 'its history stays');
});
