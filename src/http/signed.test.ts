// Signed claims, from the forger's side: a signature holds for exactly what was signed, under
// exactly its key and purpose, and claims that are not a JSON object are not claims.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { decodeClaims, encodeClaims, isSignatureOf, purposeKey, signatureOf } from './signed.js';

test('a signature verifies for what was signed under its key, and for nothing altered', () => {
  const key = randomBytes(32);
  const body = encodeClaims({ r: 'shop', e: 123 });
  const sig = signatureOf(key, body);
  assert.ok(isSignatureOf(key, body, sig));
  assert.equal(isSignatureOf(key, encodeClaims({ r: 'shop', e: 124 }), sig), false, 'other claims');
  assert.equal(isSignatureOf(randomBytes(32), body, sig), false, 'another key');
  assert.equal(isSignatureOf(key, body, sig.slice(0, -2)), false, 'a shortened signature');
  assert.equal(isSignatureOf(key, body, ''), false, 'no signature');
  assert.equal(isSignatureOf(key, body, `${sig}AA`), false, 'a longer one');
});

test('keys for two purposes sign differently, so a capability for one never verifies as the other', () => {
  const parent = randomBytes(32);
  const checkout = purposeKey(parent, 'slipway checkout token v1');
  const pull = purposeKey(parent, 'slipway pull credential v1');
  assert.notDeepEqual(checkout, pull);
  assert.equal(isSignatureOf(pull, 'x', signatureOf(checkout, 'x')), false);
  assert.equal(isSignatureOf(parent, 'x', signatureOf(checkout, 'x')), false, 'nor as the parent key');
});

test('claims decode only from base64url JSON of an object of bounded size', () => {
  assert.deepEqual(decodeClaims(encodeClaims({ a: 1 })), { a: 1 });
  for (const junk of ['', '!!!', Buffer.from('[1,2]').toString('base64url'), Buffer.from('null').toString('base64url'), Buffer.from('"s"').toString('base64url'), encodeClaims({ pad: 'x'.repeat(5000) })]) {
    assert.equal(decodeClaims(junk), undefined, junk.slice(0, 20));
  }
});
