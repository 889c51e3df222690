// What each Slipway scope may do on a repository of the registry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allowedActions } from './auth.js';

test('an environment deploy scope (deploy:production) pulls the images it rolls out, like deploy, and pushes nothing', () => {
  assert.deepEqual([...allowedActions(['deploy:production'], 'web')], ['pull']);
  assert.deepEqual([...allowedActions(['deploy'], 'web')], ['pull']);
  assert.deepEqual([...allowedActions(['run'], 'web')].sort(), ['pull', 'push']);
  assert.deepEqual([...allowedActions(['deploy:'], 'web')], ['pull'], 'a scope the store refuses never reaches here; were it to, it would still only pull');
});
