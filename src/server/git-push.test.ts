import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseReviewRef } from './git-push.js';

test('refs/for/BRANCH names the base branch, %topic=NAME a topic; option-like or odd names are refused', () => {
  assert.deepEqual(parseReviewRef('refs/for/main'), { base: 'main' });
  assert.deepEqual(parseReviewRef('refs/for/release/1.x'), { base: 'release/1.x' });
  assert.deepEqual(parseReviewRef('refs/for/main%topic=login-form.v2'), { base: 'main', topic: 'login-form.v2' });
  for (const ref of ['refs/for/-x', 'refs/for/--upload-pack=x', 'refs/for/', 'refs/for/a..b', 'refs/for/x.lock', 'refs/for/a//b']) {
    assert.ok('problem' in parseReviewRef(ref), ref);
  }
  for (const ref of ['refs/for/main%r=alice', 'refs/for/main%topic=', 'refs/for/main%topic=-x', 'refs/for/main%topic=a/b', 'refs/for/main%topic=x.lock', 'refs/for/main%topic=a,r=b']) {
    assert.ok('problem' in parseReviewRef(ref), ref);
  }
});
