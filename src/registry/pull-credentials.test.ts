// Pull credentials against someone who holds one, or none: they verify for their own repository
// only, until they expire, and any change to them (or another key) makes them worthless.
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { mintPullCredential, PULL_CREDENTIAL_PREFIX, verifyPullCredential } from './pull-credentials.js';

const key = randomBytes(32);
const now = Date.UTC(2026, 0, 1);

test('a pull credential verifies for its repository until it expires, and not a second after', () => {
  const c = mintPullCredential(key, 'shop/web', 60_000, now);
  assert.ok(c.password.startsWith(PULL_CREDENTIAL_PREFIX));
  assert.equal(c.expiresAt.getTime() - c.issuedAt.getTime(), 60_000);
  assert.deepEqual(verifyPullCredential(key, c.password, now + 59_000)?.repository, 'shop/web');
  assert.equal(verifyPullCredential(key, c.password, now + 60_000), undefined);
  assert.equal(verifyPullCredential(key, c.password, now + 10 * 86_400_000), undefined);
});

test('a pull credential with its repository, expiry or signature changed, or from another key, is refused', () => {
  const c = mintPullCredential(key, 'shop/web', 3_600_000, now);
  const [body = '', sig = ''] = c.password.slice(PULL_CREDENTIAL_PREFIX.length).split('.');
  const claims = JSON.parse(Buffer.from(body, 'base64url').toString()) as { r: string; e: number };
  const forge = (patch: object) => `${PULL_CREDENTIAL_PREFIX}${Buffer.from(JSON.stringify({ ...claims, ...patch })).toString('base64url')}.${sig}`;
  assert.equal(verifyPullCredential(key, forge({ r: 'shop/admin' }), now), undefined, 'another repository');
  assert.equal(verifyPullCredential(key, forge({ e: claims.e + 10 ** 9 }), now), undefined, 'a later expiry');
  assert.equal(verifyPullCredential(key, `${c.password.slice(0, -2)}AA`, now), undefined, 'a changed signature');
  assert.equal(verifyPullCredential(key, `${c.password}.x`, now), undefined, 'an extra part');
  assert.equal(verifyPullCredential(randomBytes(32), c.password, now), undefined, 'another registry');
  assert.equal(verifyPullCredential(key, PULL_CREDENTIAL_PREFIX, now), undefined);
  assert.equal(verifyPullCredential(key, 'slw_not-a-pull-credential', now), undefined);
});

test('a pull credential is not minted for a name the registry would refuse, nor for a lifetime out of range', () => {
  assert.throws(() => mintPullCredential(key, '../etc', 60_000, now));
  assert.throws(() => mintPullCredential(key, 'shop/*', 60_000, now), 'a wildcard would widen it to a prefix');
  assert.throws(() => mintPullCredential(key, 'shop/web', 0, now));
  assert.throws(() => mintPullCredential(key, 'shop/web', 365 * 86_400_000, now));
});

test('a credential signed the way earlier servers signed it still verifies: pull secrets in clusters outlive an upgrade', () => {
  // the derivation of the first release, written out: HMAC(HMAC(tokenKey, purpose), body)
  const body = Buffer.from(JSON.stringify({ r: 'shop/web', i: now / 1000, e: now / 1000 + 3600, n: 'nonce' })).toString('base64url');
  const derived = createHmac('sha256', key).update('slipway pull credential v1').digest();
  const password = `${PULL_CREDENTIAL_PREFIX}${body}.${createHmac('sha256', derived).update(body).digest('base64url')}`;
  assert.equal(verifyPullCredential(key, password, now + 1000)?.repository, 'shop/web');
});
