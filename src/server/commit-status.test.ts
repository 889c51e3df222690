import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commitStatusRequest } from './commit-status.js';

const commit = 'a'.repeat(40);

test('each forge gets the request its API documents', () => {
  const github = commitStatusRequest({ provider: 'github', token: 'g', repository: 'acme/web' }, { commit, state: 'pending', description: 'running' });
  assert.equal(github.url, `https://api.github.com/repos/acme/web/statuses/${commit}`);
  assert.equal((github.init.headers as Record<string, string>).Authorization, 'Bearer g');
  assert.deepEqual(JSON.parse(String(github.init.body)), { state: 'pending', description: 'running', context: 'slipway' });

  const gitea = commitStatusRequest({ provider: 'gitea', apiUrl: 'https://git.example.com/', token: 't', repository: 'acme/web' }, { commit, state: 'failure', description: 'x', targetUrl: 'http://s/api/runs/1' });
  assert.equal(gitea.url, `https://git.example.com/api/v1/repos/acme/web/statuses/${commit}`);
  assert.equal((gitea.init.headers as Record<string, string>).Authorization, 'token t');
  assert.equal(JSON.parse(String(gitea.init.body)).target_url, 'http://s/api/runs/1');

  const gitlab = commitStatusRequest({ provider: 'gitlab', apiUrl: 'https://gitlab.example.com', token: 'p', repository: 'group/sub/web' }, { commit, state: 'pending', description: 'running' });
  assert.match(gitlab.url, new RegExp(`^https://gitlab\\.example\\.com/api/v4/projects/group%2Fsub%2Fweb/statuses/${commit}\\?state=running&name=slipway`));
  assert.equal((gitlab.init.headers as Record<string, string>)['PRIVATE-TOKEN'], 'p');
  const failed = commitStatusRequest({ provider: 'gitlab', apiUrl: 'https://gitlab.example.com', token: 'p', repository: 'g/w' }, { commit, state: 'failure', description: 'd' });
  assert.match(failed.url, /state=failed/);
});

test('Gitea and GitLab need their API URL', () => {
  assert.throws(() => commitStatusRequest({ provider: 'gitea', token: 't', repository: 'a/b' }, { commit, state: 'success', description: '' }), /needs the API URL/);
});
