// The spec's grammar for names, tags and digests, and that nothing path-like slips through.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isValidName, isValidTag, parseImageReference, parseLookupReference, parseReference, tryParseDigest } from './names.js';

test('repository names follow the spec grammar', () => {
  for (const ok of ['a', 'library/busybox', 'a.b_c__d-e--f/g0', 'x/y/z']) assert.ok(isValidName(ok), ok);
  for (const bad of ['', 'A', 'a/', '/a', 'a//b', '..', 'a/../b', 'a/./b', '-a', 'a-', 'a___b', '_layers', 'a/_manifests', 'a'.repeat(256)]) {
    assert.ok(!isValidName(bad), bad);
  }
});

test('tags follow the spec grammar and can never be a relative path', () => {
  for (const ok of ['latest', 'v1.2.3', '_x', 'A-b.c_d', 'a'.repeat(128)]) assert.ok(isValidTag(ok), ok);
  for (const bad of ['', '.', '..', '.hidden', '-x', 'a/b', 'a'.repeat(129)]) assert.ok(!isValidTag(bad), bad);
});

test('digests: sha256 and sha512 with lower-case hex of the right length', () => {
  assert.equal(tryParseDigest(`sha256:${'a'.repeat(64)}`)?.hex, 'a'.repeat(64));
  assert.equal(tryParseDigest(`sha512:${'b'.repeat(128)}`)?.algorithm, 'sha512');
  for (const bad of [`sha256:${'a'.repeat(63)}`, `sha256:${'A'.repeat(64)}`, `md5:${'a'.repeat(32)}`, 'sha256:../../x', 'nocolon']) {
    assert.equal(tryParseDigest(bad), undefined, bad);
  }
  assert.equal(parseReference('v1').kind, 'tag');
  assert.throws(() => parseReference('sha256:short'), { code: 'DIGEST_INVALID' });
});

test('a reference that is neither tag nor digest names nothing to read (undefined) and is refused for writing', () => {
  assert.equal(parseLookupReference('.INVALID_MANIFEST_NAME'), undefined);
  assert.equal(parseLookupReference('v1')?.kind, 'tag');
  assert.throws(() => parseLookupReference('sha256:totallywrong'), { code: 'DIGEST_INVALID' });
  assert.throws(() => parseReference('.INVALID_MANIFEST_NAME'), { code: 'MANIFEST_INVALID' });
});

test('image references: host (with a port, or localhost), repository, tag and digest; a plain name has no host', () => {
  const hex = 'a'.repeat(64);
  assert.deepEqual(parseImageReference(`127.0.0.1:7700/team/web@sha256:${hex}`), { host: '127.0.0.1:7700', repository: 'team/web', digest: tryParseDigest(`sha256:${hex}`) });
  assert.deepEqual(parseImageReference(`registry.example.com/web:v1@sha256:${hex}`), { host: 'registry.example.com', repository: 'web', tag: 'v1', digest: tryParseDigest(`sha256:${hex}`) });
  assert.deepEqual(parseImageReference('localhost/a/b:latest'), { host: 'localhost', repository: 'a/b', tag: 'latest' });
  assert.deepEqual(parseImageReference('team/web:v2'), { repository: 'team/web', tag: 'v2' });
  assert.deepEqual(parseImageReference('busybox'), { repository: 'busybox' });
  for (const bad of ['', 'HOST/Web', 'a/../b', 'web@sha256:short', 'web:', 'web:..', 'host:5000/']) assert.equal(parseImageReference(bad), undefined, bad);
});
