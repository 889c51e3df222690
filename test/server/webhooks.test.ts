// Webhook signatures and payloads with real payloads: GitHub's from @octokit/webhooks-examples,
// Gitea's and GitLab's from their documentation (pushes, pull requests and merge requests).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseWebhook, verifyWebhook, WebhookError, type PullRequestEvent, type Push } from '../../src/server/webhooks.js';
import { repoRoot } from '../support/paths.js';

const require = createRequire(import.meta.url);
const examples = require('@octokit/webhooks-examples') as Array<{ name: string; examples: unknown[] }>;
const githubPush = examples.find((e) => e.name === 'push')!.examples;
const githubPing = examples.find((e) => e.name === 'ping')!.examples[0];
const fixture = (name: string): Buffer => readFileSync(path.join(repoRoot, 'test', 'server', 'fixtures', name));
const SECRET = 'It’s a Secret to Everybody';

function githubHeaders(body: Buffer, event = 'push', secret = SECRET): Record<string, string> {
  return {
    'x-github-event': event,
    'x-github-delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958',
    'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
  };
}

test('GitHub: the documented test vector verifies; a changed byte, another secret or no signature do not', () => {
  // GitHub's docs: secret "It's a Secret to Everybody", payload "Hello, World!"
  const body = Buffer.from('Hello, World!');
  const headers = { 'x-hub-signature-256': 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17' };
  verifyWebhook('github', headers, body, "It's a Secret to Everybody");
  assert.throws(() => verifyWebhook('github', headers, Buffer.from('Hello, World?'), "It's a Secret to Everybody"), (e: WebhookError) => e.code === 'WEBHOOK_SIGNATURE_INVALID' && e.status === 401);
  assert.throws(() => verifyWebhook('github', headers, body, 'another'), /does not match/);
  assert.throws(() => verifyWebhook('github', {}, body, 'x'), (e: WebhookError) => e.code === 'WEBHOOK_SIGNATURE_MISSING');
});

test('GitHub: every push example reads into a Push with branch or tag, commit and sender', () => {
  assert.ok(githubPush.length >= 3);
  for (const example of githubPush) {
    const body = Buffer.from(JSON.stringify(example));
    const headers = githubHeaders(body);
    verifyWebhook('github', headers, body, SECRET);
    const push = parseWebhook('github', headers, body) as Push;
    const raw = example as { ref: string; after: string; deleted: boolean; repository: { name: string } };
    assert.equal(push.kind, 'push');
    assert.equal(push.ref, raw.ref);
    assert.equal(push.after, raw.after);
    assert.equal(push.isDeleted, raw.deleted);
    assert.equal(push.repository, raw.repository.name);
    assert.ok(push.branch ?? push.tag);
    assert.equal(push.deliveryId, '72d3162e-cc78-11e3-81ab-4c9367dc0958');
  }
});

test('GitHub: ping and other events are answered as such, not run', () => {
  const body = Buffer.from(JSON.stringify(githubPing));
  assert.equal(parseWebhook('github', githubHeaders(body, 'ping'), body).kind, 'ping');
  const issue = parseWebhook('github', githubHeaders(body, 'issues'), body);
  assert.deepEqual(issue, { kind: 'unsupported', deliveryId: '72d3162e-cc78-11e3-81ab-4c9367dc0958', event: 'issues' });
});

test('Gitea/Forgejo: HMAC without prefix, in either header family', () => {
  const body = fixture('gitea-push.json');
  const signature = createHmac('sha256', SECRET).update(body).digest('hex');
  for (const family of ['gitea', 'forgejo']) {
    const headers = { [`x-${family}-event`]: 'push', [`x-${family}-delivery`]: 'd-1', [`x-${family}-signature`]: signature };
    verifyWebhook('gitea', headers, body, SECRET);
    const push = parseWebhook('gitea', headers, body) as Push;
    assert.equal(push.branch, 'main');
    assert.equal(push.after, 'bffeb74224043ba2feb48d137756c8a9331c449a');
    assert.equal(push.repository, 'webhooks');
    assert.equal(push.commitMessage, 'Webhooks Yay!');
    assert.equal(push.commitTimestamp, '2017-03-13T13:52:11-04:00');
    assert.equal(push.sender, 'gitea');
  }
  assert.throws(() => verifyWebhook('gitea', { 'x-gitea-signature': signature.replace(/.$/, '0') }, body, SECRET), /does not match/);
});

test('GitLab: the secret token header, push and tag push hooks', () => {
  const body = fixture('gitlab-push.json');
  const headers = { 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': SECRET, 'x-gitlab-event-uuid': 'u-1' };
  verifyWebhook('gitlab', headers, body, SECRET);
  assert.throws(() => verifyWebhook('gitlab', { ...headers, 'x-gitlab-token': 'nope' }, body, SECRET), /does not match/);
  const push = parseWebhook('gitlab', headers, body) as Push;
  assert.equal(push.branch, 'master');
  assert.equal(push.after, 'da1560886d4f094c3e6c9ef40349f7d38b5d27d7');
  assert.equal(push.commitMessage, 'fixed readme');
  assert.equal(push.commitTimestamp, '2012-01-03T23:36:29+02:00');
  assert.equal(push.fullName, 'mike/diaspora');
  assert.equal(push.sender, 'jsmith');
  assert.equal(parseWebhook('gitlab', { ...headers, 'x-gitlab-event': 'Issue Hook' }, body).kind, 'unsupported');
});

test('hostile payloads are refused with a clear 400, never half-read', () => {
  const headers = { 'x-github-event': 'push', 'x-github-delivery': 'd' };
  const bad = (payload: string): void => {
    assert.throws(() => parseWebhook('github', headers, Buffer.from(payload)), (e: WebhookError) => e.code === 'WEBHOOK_PAYLOAD_INVALID' && e.status === 400);
  };
  bad('not json');
  bad('[]');
  bad(JSON.stringify({ ref: 'refs/heads/main', before: 'x', after: 'y', repository: { name: 'a', full_name: 'a/a' } }));
  bad(JSON.stringify({ ref: '../../etc', before: '0'.repeat(40), after: 'a'.repeat(40), repository: { name: 'a', full_name: 'a/a' } }));
  assert.throws(() => parseWebhook('github', { 'x-github-event': 'push' }, Buffer.from('{}')), (e: WebhookError) => e.code === 'WEBHOOK_DELIVERY_MISSING');
});

// ---- pull requests ----------------------------------------------------------------------------

type PullRequestExample = Record<string, unknown> & {
  action: string;
  number: unknown;
  pull_request: Record<string, unknown> & {
    number: number;
    title: string;
    html_url: string;
    merged: boolean | null;
    head: Record<string, unknown> & { sha: string; ref: string; repo: unknown };
    base: Record<string, unknown> & { ref: string };
  };
};
const githubPullRequests = examples.find((e) => e.name === 'pull_request')!.examples as PullRequestExample[];
const fixtureJson = (name: string): Record<string, unknown> => JSON.parse(fixture(name).toString('utf8')) as Record<string, unknown>;
const giteaHeaders = { 'x-gitea-event': 'pull_request', 'x-gitea-delivery': 'g-1' };
const gitlabHeaders = { 'x-gitlab-event': 'Merge Request Hook', 'x-gitlab-event-uuid': 'l-1' };
const parse = (provider: 'github' | 'gitea' | 'gitlab', payload: unknown, headers?: Record<string, string>) => {
  const body = Buffer.from(JSON.stringify(payload));
  return parseWebhook(provider, headers ?? (provider === 'github' ? githubHeaders(body, 'pull_request') : provider === 'gitea' ? giteaHeaders : gitlabHeaders), body);
};
const refused = (provider: 'github' | 'gitea' | 'gitlab', payload: unknown, what: RegExp): void => {
  assert.throws(() => parse(provider, payload), (e: WebhookError) => e.code === 'WEBHOOK_PAYLOAD_INVALID' && e.status === 400 && what.test(e.message));
};
function githubExample(action: string): PullRequestExample {
  const found = githubPullRequests.find((e) => e.action === action);
  assert.ok(found, `an example of pull_request ${action}`);
  return structuredClone(found);
}

test('GitHub: opened, synchronize, reopened and closed examples read into a pull request event of the head commit; other actions are not run', () => {
  const seen = new Set<string>();
  for (const example of githubPullRequests) {
    const event = parse('github', example);
    const pr = example.pull_request;
    if (!['opened', 'synchronize', 'reopened', 'closed'].includes(example.action)) {
      assert.equal(event.kind, 'unsupported', example.action);
      continue;
    }
    seen.add(example.action);
    assert.equal(event.kind, 'pull_request');
    const read = event as PullRequestEvent;
    assert.equal(read.action, example.action);
    assert.equal(read.number, pr.number);
    assert.equal(read.headSha, pr.head.sha);
    assert.equal(read.head, pr.head.ref);
    assert.equal(read.base, pr.base.ref);
    assert.equal(read.fullName, 'Codertocat/Hello-World');
    assert.equal(read.cloneUrl, 'https://github.com/Codertocat/Hello-World.git');
    assert.equal(read.isFork, false, 'head and base are the same repository');
    assert.equal(read.title, pr.title);
    assert.equal(read.url, pr.html_url);
    assert.equal(read.merged, pr.merged === true);
    assert.equal(read.sender, 'Codertocat');
  }
  assert.deepEqual([...seen].sort(), ['closed', 'opened', 'reopened', 'synchronize']);
});

test('GitHub: a pull request whose head is another repository, or a deleted one, is a fork', () => {
  const fork = githubExample('opened');
  (fork.pull_request.head.repo as Record<string, unknown>).full_name = 'mallory/Hello-World';
  assert.equal((parse('github', fork) as PullRequestEvent).isFork, true);
  const deleted = githubExample('synchronize');
  deleted.pull_request.head.repo = null;
  assert.equal((parse('github', deleted) as PullRequestEvent).isFork, true);
});

test('Gitea/Forgejo: opened from the same repository, synchronized from a fork (repo ids differ), other actions not run', () => {
  const opened = parse('gitea', fixtureJson('gitea-pull-request-opened.json')) as PullRequestEvent;
  assert.deepEqual(
    { kind: opened.kind, action: opened.action, number: opened.number, base: opened.base, head: opened.head, headSha: opened.headSha, isFork: opened.isFork, fullName: opened.fullName, url: opened.url, sender: opened.sender },
    { kind: 'pull_request', action: 'opened', number: 3, base: 'main', head: 'health-check', headSha: '4b2e6d9a0c1f3e5a7b9d1c3e5f7a9b1d3c5e7f90', isFork: false, fullName: 'gitea/webhooks', url: 'http://localhost:3000/gitea/webhooks/pulls/3', sender: 'gitea' },
  );
  const forgejo = { 'x-forgejo-event': 'pull_request', 'x-forgejo-delivery': 'f-1' };
  const synced = parse('gitea', fixtureJson('gitea-pull-request-synchronized-fork.json'), forgejo) as PullRequestEvent;
  assert.equal(synced.action, 'synchronize');
  assert.equal(synced.isFork, true);
  assert.equal(synced.head, 'main', "the fork's own main branch");
  assert.equal(synced.headCloneUrl, 'http://localhost:3000/outsider/webhooks.git');
  assert.equal(synced.cloneUrl, 'http://localhost:3000/gitea/webhooks.git', 'the base repository is fetched from');
  const edited = { ...fixtureJson('gitea-pull-request-opened.json'), action: 'edited' };
  assert.equal(parse('gitea', edited).kind, 'unsupported');
  // without repository ids or names nothing says the head is the project's own: a fork
  const unsure = fixtureJson('gitea-pull-request-opened.json') as { pull_request: { head: Record<string, unknown>; base: Record<string, unknown> } };
  delete unsure.pull_request.head.repo_id;
  delete unsure.pull_request.head.repo;
  assert.equal((parse('gitea', unsure) as PullRequestEvent).isFork, true);
});

test('GitLab: an update with new commits (oldrev) is synchronize; one without runs nothing; open from a fork; merge closes', () => {
  const update = parse('gitlab', fixtureJson('gitlab-merge-request-update.json')) as PullRequestEvent;
  assert.deepEqual(
    { action: update.action, number: update.number, base: update.base, head: update.head, headSha: update.headSha, isFork: update.isFork, commitMessage: update.commitMessage, sender: update.sender, fullName: update.fullName },
    { action: 'synchronize', number: 1, base: 'master', head: 'ms-viewport', headSha: 'da1560886d4f094c3e6c9ef40349f7d38b5d27d7', isFork: false, commitMessage: 'fixed readme', sender: 'root', fullName: 'gitlabhq/gitlab-test' },
  );
  const retitled = fixtureJson('gitlab-merge-request-update.json') as { object_attributes: Record<string, unknown> };
  delete retitled.object_attributes.oldrev;
  assert.equal(parse('gitlab', retitled).kind, 'unsupported');
  const opened = parse('gitlab', fixtureJson('gitlab-merge-request-open-fork.json')) as PullRequestEvent;
  assert.equal(opened.action, 'opened');
  assert.equal(opened.isFork, true);
  const merged = fixtureJson('gitlab-merge-request-update.json') as { object_attributes: Record<string, unknown> };
  merged.object_attributes.action = 'merge';
  const closed = parse('gitlab', merged) as PullRequestEvent;
  assert.equal(closed.action, 'closed');
  assert.equal(closed.merged, true);
  const approved = fixtureJson('gitlab-merge-request-update.json') as { object_attributes: Record<string, unknown> };
  approved.object_attributes.action = 'approved';
  assert.equal(parse('gitlab', approved).kind, 'unsupported');
});

test('hostile pull request payloads are refused with a 400 naming the field: commit ids, numbers, branch names, links', () => {
  const with_ = (change: (pr: PullRequestExample) => void) => {
    const example = githubExample('opened');
    change(example);
    return example;
  };
  refused('github', with_((e) => (e.pull_request.head.sha = 'HEAD')), /head\.sha/);
  refused('github', with_((e) => (e.pull_request.head.sha = 'a'.repeat(39))), /head\.sha/);
  for (const number of [0, -1, 1.5, 2 ** 31, Number.MAX_SAFE_INTEGER, '7']) refused('github', with_((e) => ((e.number = number), ((e.pull_request as Record<string, unknown>).number = number))), /number/);
  refused('github', with_((e) => (e.number = 3)), /differ/);
  for (const ref of ['--upload-pack=touch /tmp/x', '-x', 'a..b', 'a b', 'x.lock', 'a:b', 'refs/heads/../x', '', 'a'.repeat(201)]) {
    refused('github', with_((e) => (e.pull_request.head.ref = ref)), /head\.ref/);
    refused('github', with_((e) => (e.pull_request.base.ref = ref)), /base\.ref/);
  }
  refused('github', with_((e) => ((e.pull_request as Record<string, unknown>).html_url = 'javascript:alert(1)')), /html_url/);
  refused('github', with_((e) => ((e.repository as Record<string, unknown>).full_name = 'a\nb')), /full_name/);
  refused('github', with_((e) => ((e.repository as Record<string, unknown>).clone_url = `https://github.com/${'x'.repeat(3000)}`)), /clone_url/);
  refused('github', with_((e) => (e.pull_request = [] as never)), /pull_request/);
  // a title is what a person typed: kept, on one line
  const titled = parse('github', with_((e) => ((e.pull_request as Record<string, unknown>).title = 'fix\u001b[31m\nred\u202e'))) as PullRequestEvent;
  assert.equal(titled.title, 'fix [31m red ');
  const gitlab = fixtureJson('gitlab-merge-request-update.json') as { object_attributes: Record<string, unknown> };
  gitlab.object_attributes.oldrev = '--upload-pack';
  refused('gitlab', gitlab, /oldrev/);
  const gitlabRef = fixtureJson('gitlab-merge-request-update.json') as { object_attributes: Record<string, unknown> };
  gitlabRef.object_attributes.source_branch = '--upload-pack=x';
  refused('gitlab', gitlabRef, /source_branch/);
  refused('gitea', { ...fixtureJson('gitea-pull-request-opened.json'), number: 1e12 }, /number/);
});
