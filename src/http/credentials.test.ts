// One reading of the Authorization header for every surface: Bearer and Basic, and what a
// malformed header is (nothing, never a guess).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCredentials } from './credentials.js';

const basic = (text: string): string => `Basic ${Buffer.from(text).toString('base64')}`;

test('a Bearer token is its secret; Basic is the user and the secret after the first colon', () => {
  assert.deepEqual(parseCredentials('Bearer slw_abc'), { scheme: 'bearer', secret: 'slw_abc' });
  assert.deepEqual(parseCredentials('bearer  slw_abc'), { scheme: 'bearer', secret: 'slw_abc' });
  assert.deepEqual(parseCredentials(basic('ci:slw_a:b')), { scheme: 'basic', user: 'ci', secret: 'slw_a:b' });
  assert.deepEqual(parseCredentials(basic(':slw_x')), { scheme: 'basic', user: '', secret: 'slw_x' });
  assert.deepEqual(parseCredentials(`BASIC ${Buffer.from('u:p').toString('base64')}`), { scheme: 'basic', user: 'u', secret: 'p' });
  // an empty secret is returned as such: callers refuse it like a wrong one
  assert.deepEqual(parseCredentials(basic('u:')), { scheme: 'basic', user: 'u', secret: '' });
});

test('a missing or malformed header carries no credentials: no colon, bad base64, other schemes', () => {
  for (const header of [undefined, '', 'Bearer', 'Bearer ', 'Bearer a b', 'Basic', basic('no-colon'), 'Basic !!notbase64!!', 'Basic YWJj=ZGVm', 'Digest username="u"', 'Token abc']) {
    assert.equal(parseCredentials(header), undefined, String(header));
  }
});
