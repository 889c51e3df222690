// Webhook signatures and payloads with real payloads: GitHub's from @octokit/webhooks-examples,
// Gitea's and GitLab's from their documentation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseWebhook, verifyWebhook, WebhookError, type Push } from '../../src/server/webhooks.js';
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
