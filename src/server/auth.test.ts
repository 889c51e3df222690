// Scopes per environment: deploy:ENV lets a token deploy to ENV and nowhere else, never counts as
// the plain deploy scope, and the scopes a token may have are checked by the deploy targets' own
// rule for environment names (the API schema's pattern agrees with it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canDeployTo, hasScope } from './auth.js';
import { checkScopes, scopesProblem } from '../store/tokens.js';
import { StoreError, type TokenScope, type VerifiedToken } from '../store/types.js';
import { isValidName } from '../deploy/index.js';
import { ENVIRONMENT_NAME_PATTERN } from '../api/schemas.js';

const token = (...scopes: TokenScope[]): VerifiedToken => ({ id: 't', name: 't', scopes });

test('deploy:staging deploys to staging only, reads, and is not the deploy, run or admin scope', () => {
  const staging = token('deploy:staging');
  assert.equal(canDeployTo(staging, 'staging'), true);
  assert.equal(canDeployTo(staging, 'production'), false);
  // a prefix or a suffix of the name is another environment
  assert.equal(canDeployTo(staging, 'stag'), false);
  assert.equal(canDeployTo(staging, 'staging2'), false);
  assert.equal(hasScope(staging, 'read'), true);
  assert.equal(hasScope(staging, 'deploy'), false);
  assert.equal(hasScope(staging, 'run'), false);
  assert.equal(hasScope(staging, 'admin'), false);
});

test('deploy and admin deploy everywhere; read and run nowhere', () => {
  for (const env of ['staging', 'production', 'pr-12']) {
    assert.equal(canDeployTo(token('deploy'), env), true);
    assert.equal(canDeployTo(token('admin'), env), true);
    assert.equal(canDeployTo(token('read', 'run'), env), false);
    assert.equal(canDeployTo(token('deploy:staging', 'deploy:qa'), env), env === 'staging' || env === 'qa');
  }
});

test('token scopes: deploy:ENV with a valid name, at most 32, kept sorted and without duplicates', () => {
  assert.deepEqual(checkScopes(['deploy:production', 'read', 'deploy:staging', 'deploy:production']), ['read', 'deploy:production', 'deploy:staging']);
  for (const bad of ['deploy:', 'deploy:../x', 'deploy:a b', 'deploy:.hidden', 'deploy:a/b', 'deploy:x,y', `deploy:${'x'.repeat(64)}`, 'deploy:*', 'Deploy:x', 'deployx', 'root', 'deploy:staging\n']) {
    assert.throws(() => checkScopes([bad]), (err: unknown) => err instanceof StoreError && err.code === 'STORE_TOKEN_INVALID', bad);
  }
  assert.match(scopesProblem([]) ?? '', /none given/);
  const many = Array.from({ length: 33 }, (_, i) => `deploy:env${i}`);
  assert.match(scopesProblem(many) ?? '', /at most 32 scopes, not 33/);
  assert.equal(scopesProblem(many.slice(0, 32)), undefined);
});

test("the API schema's environment pattern is the deploy targets' rule", () => {
  const pattern = new RegExp(ENVIRONMENT_NAME_PATTERN);
  for (const name of ['staging', 'prod-eu.1', 'a', 'A_b', '9', 'x'.repeat(63), 'x'.repeat(64), '', '-x', '.x', '_x', 'a b', 'a/b', '../x', 'ü', 'a:b']) {
    assert.equal(pattern.test(name), isValidName(name), JSON.stringify(name));
  }
});
