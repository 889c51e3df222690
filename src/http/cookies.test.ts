import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { cookieOf, setCookie } from './cookies.js';

const withCookie = (cookie: string | undefined): IncomingMessage => ({ headers: cookie === undefined ? {} : { cookie } }) as IncomingMessage;

test('cookieOf finds the named cookie among others, trims blanks and quotes, first one wins', () => {
  assert.equal(cookieOf(withCookie('a=1; slipway_session=abc_-1; b=2'), 'slipway_session'), 'abc_-1');
  assert.equal(cookieOf(withCookie('slipway_session="quoted"'), 'slipway_session'), 'quoted');
  assert.equal(cookieOf(withCookie('slipway_session=first; slipway_session=second'), 'slipway_session'), 'first');
  assert.equal(cookieOf(withCookie('xslipway_session=no; slipway_sessionx=no'), 'slipway_session'), undefined);
  assert.equal(cookieOf(withCookie(undefined), 'slipway_session'), undefined);
});

test('cookieOf refuses empty values, values with characters a cookie cannot carry, and huge headers', () => {
  assert.equal(cookieOf(withCookie('slipway_session='), 'slipway_session'), undefined);
  assert.equal(cookieOf(withCookie('slipway_session=a b'), 'slipway_session'), undefined);
  assert.equal(cookieOf(withCookie('slipway_session=a\\b'), 'slipway_session'), undefined);
  assert.equal(cookieOf(withCookie(`slipway_session=${'a'.repeat(9000)}`), 'slipway_session'), undefined);
});

test('setCookie is HttpOnly, SameSite=Strict, Path=/, Secure only when asked, and refuses bad names and values', () => {
  assert.equal(setCookie('s', 'v', { maxAgeS: 60, secure: false }), 's=v; Max-Age=60; Path=/; HttpOnly; SameSite=Strict');
  assert.equal(setCookie('s', '', { maxAgeS: 0, secure: true }), 's=; Max-Age=0; Path=/; HttpOnly; SameSite=Strict; Secure');
  assert.throws(() => setCookie('s;x', 'v', { maxAgeS: 1, secure: false }));
  assert.throws(() => setCookie('s', 'v; Domain=evil.example', { maxAgeS: 1, secure: false }));
});
