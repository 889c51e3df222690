import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, parseDuration } from './durations.js';
import { checkGlob, matchesAny } from './globs.js';
import { closest, editDistance } from './suggest.js';

test('durations are Go-style and come back in milliseconds', () => {
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('10s'), 10_000);
  assert.equal(parseDuration('1m30s'), 90_000);
  assert.equal(parseDuration('2h'), 7_200_000);
  assert.equal(parseDuration('1.5s'), 1500);
  assert.equal(parseDuration('1h2m3s4ms'), 3_723_004);
  assert.equal(parseDuration('0s'), 0);
  for (const bad of ['', '10', '10 s', '-5s', 's', '1d', '1m 30s', '10S', '.5s', 'ten seconds']) {
    assert.equal(parseDuration(bad), undefined, bad);
  }
  assert.equal(formatDuration(90_000), '1m30s');
});

test('globs: unbalanced brackets and empty patterns are refused', () => {
  assert.equal(checkGlob('main'), undefined);
  assert.equal(checkGlob('release/*'), undefined);
  assert.equal(checkGlob('feature/{a,b}'), undefined);
  assert.equal(checkGlob('v[0-9]*'), undefined);
  assert.equal(checkGlob('[]]'), undefined, 'a ] first in a class is literal');
  assert.equal(checkGlob('a\\[b'), undefined, 'an escaped bracket');
  assert.match(checkGlob('release/[0-9') ?? '', /never closed/);
  assert.match(checkGlob('feature/{a,b') ?? '', /never closed/);
  assert.match(checkGlob('x}') ?? '', /no matching opening/);
  assert.match(checkGlob('  ') ?? '', /empty pattern/);
});

test('globs: * stays in a path segment, ** crosses them', () => {
  assert.equal(matchesAny(['release/*'], 'release/1.0'), true);
  assert.equal(matchesAny(['release/*'], 'release/1.0/hotfix'), false);
  assert.equal(matchesAny(['release/**'], 'release/1.0/hotfix'), true);
  assert.equal(matchesAny(['main', 'dev'], 'dev'), true);
  assert.equal(matchesAny(['v[0-9]*'], 'v1.2.0'), true);
  assert.equal(matchesAny([], 'main'), false);
});

test('did-you-mean counts a swap as one typo and ignores far-off words', () => {
  assert.equal(editDistance('stpes', 'steps'), 1);
  assert.equal(closest('stpes', ['steps', 'image', 'needs']), 'steps');
  assert.equal(closest('dockerfil', ['dockerfile', 'context']), 'dockerfile');
  assert.equal(closest('Manual', ['auto', 'manual']), 'manual');
  assert.equal(closest('xyz', ['steps', 'image']), undefined);
});
